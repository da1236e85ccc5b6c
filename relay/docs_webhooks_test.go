package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/relay/internal/relaytest"
)

// TestDocsWebhookCurls runs docs/webhooks.md as a reader would: its
// variables block, its hookrelay.yaml as the config of a real relay dev,
// and every curl block with bash, twice. Each block must publish the
// topics its answer comment names, and the second paste must be a
// duplicate with the same ids (the blocks use fixed delivery ids).
func TestDocsWebhookCurls(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "openssl", "base64", "od"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed; the curl blocks of docs/webhooks.md need it", tool)
		}
	}
	b, err := os.ReadFile("../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	blocks := fencedBlocks(doc)
	yaml := ""
	for _, bl := range blocks["yaml"] {
		if strings.HasPrefix(bl, "# hookrelay.yaml") {
			yaml = bl
		}
	}
	vars, curls := "", []string(nil)
	for _, bl := range blocks["sh"] {
		switch {
		case strings.Contains(bl, "relay dev --config hookrelay.yaml"):
			vars = bl
		case strings.Contains(bl, "curl -sS"):
			curls = append(curls, bl)
		}
	}
	if yaml == "" || vars == "" || len(curls) < 5 {
		t.Fatalf("docs/webhooks.md: config %t, variables %t, %d curl blocks (want 5)", yaml != "", vars != "", len(curls))
	}
	// The variables block minus the relay command, which the test runs.
	exports := strings.Replace(vars, "relay dev --config hookrelay.yaml", "", 1)
	cfg := filepath.Join(t.TempDir(), "hookrelay.yaml")
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	r := relaytest.Start(t, relaytest.Options{Mode: "dev", Args: []string{"--config", cfg}, Env: shellVars(t, exports)})

	for i, bl := range curls {
		script := exports + "\n" + strings.ReplaceAll(bl, "http://127.0.0.1:8080", r.URL)
		want := regexp.MustCompile(`"topic":"([^"]+)"`).FindAllStringSubmatch(lastComment(bl), -1)
		if len(want) == 0 {
			t.Fatalf("curl block %d has no answer comment naming its topics:\n%s", i, bl)
		}
		first := runCurlBlock(t, script)
		again := runCurlBlock(t, script)
		for _, w := range want {
			if !slices.ContainsFunc(first, func(e published) bool { return e.Topic == w[1] && !e.Duplicate }) {
				t.Errorf("curl block %d: no new event on %s: %+v", i, w[1], first)
			}
		}
		if len(again) != len(first) {
			t.Fatalf("curl block %d pasted twice: %+v then %+v", i, first, again)
		}
		for k := range again {
			if !again[k].Duplicate || again[k].ID != first[k].ID || again[k].Topic != first[k].Topic {
				t.Errorf("curl block %d pasted twice is not a duplicate: %+v then %+v", i, first[k], again[k])
			}
		}
	}
	t.Logf("docs/webhooks.md: config, variables and %d curl blocks ran, each twice", len(curls))
}

type published struct {
	ID, Topic string
	Duplicate bool
}

// runCurlBlock runs script from the repository root (the Alertmanager
// block reads a testdata file by its path there) and decodes the answer.
func runCurlBlock(t *testing.T, script string) []published {
	t.Helper()
	cmd := exec.Command("bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = ".."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s\nscript:\n%s", err, out, script)
	}
	var res struct{ Events []published }
	if err := json.Unmarshal(out, &res); err != nil || len(res.Events) == 0 {
		t.Fatalf("answer %s (%v)\nscript:\n%s", out, err, script)
	}
	return res.Events
}

// shellVars runs the exports with bash in an empty environment and returns
// the variables they set, KEY=VALUE.
func shellVars(t *testing.T, exports string) []string {
	t.Helper()
	cmd := exec.Command("bash", "-c", exports+"\nenv -0")
	cmd.Env = []string{}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("variables block: %v", err)
	}
	var vars []string
	for _, kv := range strings.Split(string(out), "\x00") {
		k, _, ok := strings.Cut(kv, "=")
		if ok && strings.Contains(exports, k+"=") {
			vars = append(vars, kv)
		}
	}
	return vars
}

// fencedBlocks returns the fenced code blocks of doc by language.
func fencedBlocks(doc string) map[string][]string {
	out := map[string][]string{}
	for _, m := range regexp.MustCompile("(?s)\n```(\\w*)\n(.*?)\n```").FindAllStringSubmatch(doc, -1) {
		out[m[1]] = append(out[m[1]], m[2])
	}
	return out
}

// lastComment is the last "# ..." line of a block: the expected answer.
func lastComment(block string) string {
	lines := strings.Split(strings.TrimSpace(block), "\n")
	return lines[len(lines)-1]
}
