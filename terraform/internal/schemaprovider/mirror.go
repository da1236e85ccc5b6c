package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// writeMirror lays out an unpacked filesystem mirror holding this
// executable once per provider and version of the schema file, and writes
// dir/terraformrc, a CLI config that installs only from it (so `terraform
// init` never reaches a registry). It returns the CLI config's path.
func writeMirror(schema []byte, dir string) (string, error) {
	versions, err := providerVersions(schema)
	if err != nil {
		return "", err
	}
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find my executable: %w", err)
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	var include []string
	for _, addr := range slices.Sorted(maps.Keys(versions)) {
		name := addr[strings.LastIndex(addr, "/")+1:]
		pkg := filepath.Join(dir, filepath.FromSlash(addr), versions[addr], platform)
		if err := os.MkdirAll(pkg, 0o755); err != nil {
			return "", fmt.Errorf("mirror %s: %w", addr, err)
		}
		bin := filepath.Join(pkg, "terraform-provider-"+name+"_v"+versions[addr])
		if err := linkOrCopy(self, bin); err != nil {
			return "", fmt.Errorf("mirror %s: %w", addr, err)
		}
		include = append(include, strconv.Quote(addr))
	}
	rc := filepath.Join(dir, "terraformrc")
	cfg := fmt.Sprintf(`# Written by schemaprovider: install providers only from this mirror.
disable_checkpoint = true

provider_installation {
  filesystem_mirror {
    path    = %s
    include = [%s]
  }
}
`, strconv.Quote(dir), strings.Join(include, ", "))
	if err := os.WriteFile(rc, []byte(cfg), 0o644); err != nil {
		return "", fmt.Errorf("write CLI config: %w", err)
	}
	return rc, nil
}

// linkOrCopy hard-links src to dst, or copies it where links fail (across
// file systems).
func linkOrCopy(src, dst string) error {
	_ = os.Remove(dst) // a stale copy from an earlier run; absence is fine
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
