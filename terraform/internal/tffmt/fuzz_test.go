package tffmt

import (
	"bytes"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
)

// FuzzFormat: formatting never panics, and for valid HCL it is idempotent
// (terraform fmt of formatted code changes nothing) and keeps it valid.
func FuzzFormat(f *testing.F) {
	f.Add([]byte("a=1\nbb = 2\n"))
	f.Add([]byte("resource \"x\" \"y\" {\n  a = [1,2]\n}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		once := Format(src)
		if _, diags := hclparse.NewParser().ParseHCL(src, "in.tf"); diags.HasErrors() {
			return // upstream makes no promise for invalid syntax
		}
		if _, diags := hclparse.NewParser().ParseHCL(once, "out.tf"); diags.HasErrors() {
			t.Fatalf("formatting valid HCL made it invalid: %s\n%s", diags.Error(), once)
		}
		if twice := Format(once); !bytes.Equal(once, twice) {
			t.Fatalf("not idempotent:\n%s\n---\n%s", once, twice)
		}
	})
}
