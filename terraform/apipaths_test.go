package terraform

import (
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"testing"
)

// apiConst reads a string constant of package relay/api from its source.
//
// Why not import relay/api and use api.ReadyzPath? The package pulls in
// prometheus/client_golang, whose transitive modules are missing from go.sum
// today, so importing it would stop every Terraform check from compiling.
// Reading the declaration keeps the contract (one source of truth, the
// constant) without the build dependency.
func apiConst(t testing.TB, name string) string {
	t.Helper()
	const file = "../relay/api/paths.go"
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, id := range vs.Names {
				if id.Name != name || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: api.%s is not a string literal", file, name)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatalf("%s: api.%s: %v", file, name, err)
				}
				return s
			}
		}
	}
	t.Fatalf("%s declares no const %s", file, name)
	return ""
}
