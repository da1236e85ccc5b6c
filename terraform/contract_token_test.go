package terraform

import (
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMintTokenCommandFlags: the mint_token_command output uses `relay
// token` flags that exist (declared in relay/token.go).
func TestMintTokenCommandFlags(t *testing.T) {
	src, err := os.ReadFile("../relay/token.go")
	if err != nil {
		t.Skipf("relay/token.go not there yet: %v", err)
	}
	checkMintFlags(t, string(loadConfig(t, moduleDir).files[moduleDir+"/outputs.tf"]), string(src))
}

var (
	reMintCmd  = regexp.MustCompile(`relay token ([^"]*)"`)
	reFlagUse  = regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	reFlagDecl = regexp.MustCompile(`fs\.[A-Za-z]+Var\([^,]+, "([a-z][a-z0-9-]*)"`)
)

func checkMintFlags(t *testing.T, outputs, tokenGo string) {
	t.Helper()
	m := reMintCmd.FindStringSubmatch(outputs)
	if m == nil {
		t.Fatal("outputs.tf: mint_token_command does not run `relay token`")
	}
	declared := map[string]bool{}
	for _, d := range reFlagDecl.FindAllStringSubmatch(tokenGo, -1) {
		declared[d[1]] = true
	}
	if len(declared) == 0 {
		t.Fatal("relay/token.go: found no flag declarations; update this test")
	}
	for _, u := range reFlagUse.FindAllStringSubmatch(m[1], -1) {
		if !declared[u[1]] {
			t.Errorf("mint_token_command uses --%s, which `relay token` does not declare (it has %s)", u[1], strings.Join(slices.Sorted(maps.Keys(declared)), ", "))
		}
	}
}
