package terraform

import (
	"testing"

	"github.com/hookrelay/hookrelay/relay/api"
)

// apiConst returns the relay route constant the Terraform module must agree
// with. The relay's own package is the one source of truth.
func apiConst(t testing.TB, name string) string {
	t.Helper()
	switch name {
	case "ReadyzPath":
		return api.ReadyzPath
	case "HealthzPath":
		return api.HealthzPath
	}
	t.Fatalf("apiConst: no route constant %s", name)
	return ""
}
