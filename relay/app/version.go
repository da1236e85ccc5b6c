package app

import "runtime/debug"

// Version is the module version and VCS revision the binary was built from.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	// Go stamps a pseudo-version with the revision in it; only a "(devel)"
	// build needs the revision spelled out.
	if (v == "" || v == "(devel)") && rev != "" {
		v = rev[:min(12, len(rev))] + dirty
	}
	return v + " " + bi.GoVersion
}
