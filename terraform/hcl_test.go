package terraform

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Paths of the Terraform configurations, relative to this package.
const (
	moduleDir  = "modules/hookrelay"
	exampleDir = "examples/complete"
)

// tfFiles lists every .tf file under dir (recursively), sorted, skipping
// .terraform directories that `terraform init` creates.
func tfFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".tf") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("list .tf files under %s: %v", dir, err)
	}
	sort.Strings(out)
	return out
}

// config is one Terraform module directory, parsed: all files' bodies.
type config struct {
	dir    string
	files  map[string][]byte
	bodies map[string]*hclsyntax.Body
}

// loadConfig parses every .tf file of one module directory (not recursive:
// a Terraform module is one directory).
func loadConfig(t testing.TB, dir string) *config {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read module dir %s: %v", dir, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tf") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		files[path] = src
	}
	if len(files) == 0 {
		t.Fatalf("no .tf files in %s", dir)
	}
	c, diags := parseConfig(dir, files)
	if diags.HasErrors() {
		t.Fatalf("parse %s: %s", dir, diags.Error())
	}
	return c
}

// parseConfig parses in-memory file contents, so tests can mutate a copy.
func parseConfig(dir string, files map[string][]byte) (*config, hcl.Diagnostics) {
	p := hclparse.NewParser()
	c := &config{dir: dir, files: files, bodies: map[string]*hclsyntax.Body{}}
	var all hcl.Diagnostics
	for _, path := range slices.Sorted(maps.Keys(files)) {
		f, diags := p.ParseHCL(files[path], path)
		all = append(all, diags...)
		if f != nil {
			if body, ok := f.Body.(*hclsyntax.Body); ok {
				c.bodies[path] = body
			}
		}
	}
	return c, all
}

// withFile returns a copy of c where one file's text has old replaced by
// new; it fails the test if old is not in the file, so a mutation test can
// never pass vacuously.
func (c *config) withFile(t testing.TB, name, old, new string) *config {
	t.Helper()
	path := filepath.Join(c.dir, name)
	src, ok := c.files[path]
	if !ok {
		t.Fatalf("mutate: no file %s", path)
	}
	if !strings.Contains(string(src), old) {
		t.Fatalf("mutate: %q not found in %s", old, path)
	}
	files := map[string][]byte{}
	for k, v := range c.files {
		files[k] = v
	}
	files[path] = []byte(strings.Replace(string(src), old, new, 1))
	m, diags := parseConfig(c.dir, files)
	if diags.HasErrors() {
		t.Fatalf("mutated %s does not parse: %s", path, diags.Error())
	}
	return m
}

// blocks returns every top-level block of the given type (and, when labels
// are given, with those leading labels) across the module's files.
func (c *config) blocks(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, path := range slices.Sorted(maps.Keys(c.bodies)) {
		for _, b := range c.bodies[path].Blocks {
			if b.Type == typ && hasPrefix(b.Labels, labels) {
				out = append(out, b)
			}
		}
	}
	return out
}

// block returns the one top-level block with exactly these labels.
func (c *config) block(t testing.TB, typ string, labels ...string) *hclsyntax.Block {
	t.Helper()
	bs := c.blocks(typ, labels...)
	if len(bs) != 1 {
		t.Fatalf("%s: want exactly one %s %q block, found %d", c.dir, typ, labels, len(bs))
	}
	return bs[0]
}

func hasPrefix(labels, prefix []string) bool {
	if len(prefix) > len(labels) {
		return false
	}
	for i := range prefix {
		if labels[i] != prefix[i] {
			return false
		}
	}
	return true
}

// nested returns the first nested block of the given type, or nil.
func nested(b *hclsyntax.Block, typ string) *hclsyntax.Block {
	for _, n := range b.Body.Blocks {
		if n.Type == typ {
			return n
		}
	}
	return nil
}
