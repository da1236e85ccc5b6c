package terraform

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// lambdaBuild is what .ci/lambda.sh (`make lambda`) produces.
type lambdaBuild struct {
	functions []string // default function list
	outDir    string   // default output directory
	binary    string   // name of the executable inside the zip
	zipName   string   // zip name pattern, $fn and $arch unexpanded
	runtime   string   // runtime named in the script's header
}

var (
	reFunctions = regexp.MustCompile(`(?m)^functions=\$\{1:-"([^"]+)"\}`)
	reOut       = regexp.MustCompile(`(?m)^out=\$\{3:-([^}]+)\}`)
	reBinary    = regexp.MustCompile(`-o "\$dir/([A-Za-z0-9_.-]+)"`)
	reZip       = regexp.MustCompile(`zip="\$PWD/\$out/([^"]+)"`)
	reRuntime   = regexp.MustCompile(`provided\.al20[0-9]+`)
)

func readLambdaBuild(t testing.TB) lambdaBuild {
	t.Helper()
	src, err := os.ReadFile("../.ci/lambda.sh")
	if err != nil {
		t.Fatalf("read .ci/lambda.sh: %v", err)
	}
	s := string(src)
	var b lambdaBuild
	for _, m := range []struct {
		re  *regexp.Regexp
		dst *string
	}{{reOut, &b.outDir}, {reBinary, &b.binary}, {reZip, &b.zipName}} {
		sub := m.re.FindStringSubmatch(s)
		if sub == nil {
			t.Fatalf(".ci/lambda.sh no longer matches %s: update this test with the script", m.re)
		}
		*m.dst = sub[1]
	}
	fns := reFunctions.FindStringSubmatch(s)
	if fns == nil {
		t.Fatalf(".ci/lambda.sh no longer matches %s", reFunctions)
	}
	b.functions = strings.Fields(fns[1])
	b.runtime = reRuntime.FindString(s)
	return b
}

// checkLambdas: every Lambda runs the binary `make lambda` builds, on the
// runtime and architecture it was built for, from the zip it writes.
func checkLambdas(t testing.TB, d *deployment) []error {
	build := readLambdaBuild(t)
	var errs []error
	seen := map[string]bool{}
	for _, fn := range d.module.blocks("resource", "aws_lambda_function") {
		id := "aws_lambda_function." + fn.Labels[1]
		fnName := fn.Labels[1]
		seen[fnName] = true
		if h, err := d.str(attrExpr(fn, "handler"), id+".handler"); err != nil || h != build.binary {
			errs = append(errs, fmt.Errorf("%s handler = %q, want %q (the executable in the zip from .ci/lambda.sh)", id, h, build.binary))
		}
		if r, err := d.str(attrExpr(fn, "runtime"), id+".runtime"); err != nil || r != build.runtime {
			errs = append(errs, fmt.Errorf("%s runtime = %q, want %q (what .ci/lambda.sh builds for)", id, r, build.runtime))
		}
		if a, ok := literalStrings(attrExpr(fn, "architectures")); !ok || len(a) != 1 || a[0] != "arm64" {
			errs = append(errs, fmt.Errorf("%s architectures = %q, want [\"arm64\"]", id, a))
		}
		want := strings.NewReplacer("$fn", fnName, "$arch", "arm64").Replace(build.zipName)
		zip, err := d.str(attrExpr(fn, "filename"), id+".filename")
		if err != nil || !strings.HasSuffix(zip, build.outDir+"/"+want) {
			errs = append(errs, fmt.Errorf("%s filename = %q (%v), want .../%s/%s from `make lambda`", id, zip, err, build.outDir, want))
		}
		if !d.module.hashesFilename(attrExpr(fn, "source_code_hash"), attrExpr(fn, "filename")) {
			errs = append(errs, fmt.Errorf("%s source_code_hash must be filebase64sha256(<the filename expression>), or new code never deploys", id))
		}
		if nested(fn, "vpc_config") == nil {
			errs = append(errs, fmt.Errorf("%s has no vpc_config: it cannot reach Redis", id))
		}
		for _, attr := range []string{"reserved_concurrent_executions", "timeout"} {
			if attrExpr(fn, attr) == nil {
				errs = append(errs, fmt.Errorf("%s sets no %s", id, attr))
			}
		}
	}
	for _, fn := range build.functions {
		if !seen[fn] {
			errs = append(errs, fmt.Errorf("make lambda builds %q but the module deploys no aws_lambda_function.%s", fn, fn))
		}
	}
	esm := d.module.blocks("resource", "aws_lambda_event_source_mapping")
	if len(esm) == 0 {
		errs = append(errs, fmt.Errorf("no SQS event source mapping for the publish Lambda"))
	}
	for _, m := range esm {
		if rt, _ := literalStrings(attrExpr(m, "function_response_types")); len(rt) != 1 || rt[0] != "ReportBatchItemFailures" {
			errs = append(errs, fmt.Errorf("aws_lambda_event_source_mapping.%s must report batch item failures", m.Labels[1]))
		}
	}
	return errs
}

// hashesFilename reports whether hash is filebase64sha256(<filename expr>).
func (c *config) hashesFilename(hash, filename hclsyntax.Expression) bool {
	call, ok := hash.(*hclsyntax.FunctionCallExpr)
	if !ok || call.Name != "filebase64sha256" || len(call.Args) != 1 || filename == nil {
		return false
	}
	return c.text(call.Args[0].Range()) == c.text(filename.Range())
}

// text is the source text of a range.
func (c *config) text(r hcl.Range) string {
	src := c.files[r.Filename]
	if r.End.Byte > len(src) || r.Start.Byte > r.End.Byte {
		return ""
	}
	return string(src[r.Start.Byte:r.End.Byte])
}
