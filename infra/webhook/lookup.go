package webhook

import (
	"strconv"
	"strings"
)

// lookup walks a decoded JSON value along a dotted path ("data.object.id",
// "alerts.0.labels.team"); it returns nil when any step is missing.
func lookup(v any, path string) any {
	if path == "" || path == "." {
		return v
	}
	for key := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[key]
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// lookupString is lookup rendered as text ("" when missing).
func lookupString(v any, path string) string {
	return str(lookup(v, path))
}
