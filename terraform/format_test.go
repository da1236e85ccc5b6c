package terraform

import (
	"bytes"
	"os"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// TestFormat is `terraform fmt -check`: terraform fmt is hclwrite.Format.
func TestFormat(t *testing.T) {
	for _, path := range tfFiles(t, ".") {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if got := hclwrite.Format(src); !bytes.Equal(got, src) {
			t.Errorf("%s is not formatted like `terraform fmt` would; first difference at line %d", path, firstDiffLine(src, got))
		}
	}
}

// TestParse: every .tf file (and tfvars example) is valid HCL.
func TestParse(t *testing.T) {
	files := tfFiles(t, ".")
	if len(files) < 10 {
		t.Fatalf("found only %d .tf files; the module and the example are missing", len(files))
	}
	p := hclparse.NewParser()
	for _, path := range append(files, exampleDir+"/terraform.tfvars.example") {
		src, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		if _, diags := p.ParseHCL(src, path); diags.HasErrors() {
			t.Errorf("%s does not parse: %s", path, diags.Error())
		}
	}
}

// TestFormatCatchesMisformatting proves TestFormat can fail.
func TestFormatCatchesMisformatting(t *testing.T) {
	bad := []byte("variable \"x\" {\n  type = string\n  default     = \"y\"\n}\n")
	if bytes.Equal(hclwrite.Format(bad), bad) {
		t.Fatal("hclwrite.Format accepted misaligned attributes; the format check would miss them")
	}
	if _, diags := hclparse.NewParser().ParseHCL([]byte("resource \"a\" {"), "bad.tf"); !diags.HasErrors() {
		t.Fatal("an unclosed block parsed without errors; the parse check would miss it")
	}
}

func firstDiffLine(a, b []byte) int {
	line := 1
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return line
		}
		if a[i] == '\n' {
			line++
		}
	}
	return line
}
