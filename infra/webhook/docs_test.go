package webhook

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/apierr"
	"github.com/hookrelay/hookrelay/infra/bus"
	"github.com/hookrelay/hookrelay/infra/bus/memory"
	"github.com/hookrelay/hookrelay/infra/config"
)

// TestDocsConfig loads the sources file of docs/webhooks.md through
// config.Load and New, so the documented example stays pasteable.
func TestDocsConfig(t *testing.T) {
	doc, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) == 0 || !strings.HasPrefix(blocks[0][1], "# hookrelay.yaml") {
		t.Fatalf("no hookrelay.yaml block in docs/webhooks.md")
	}
	file := filepath.Join(t.TempDir(), "hookrelay.yaml")
	if err := os.WriteFile(file, []byte(blocks[0][1]), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(context.Background(), config.ModeDev, nil, func(k string) string {
		if k == "HOOKRELAY_CONFIG" {
			return file
		}
		return ""
	})
	if err != nil {
		t.Fatalf("config.Load: %v", err)
	}
	if len(cfg.Sources) != 7 {
		t.Fatalf("%d sources", len(cfg.Sources))
	}
	// Stand-in resolver: every reference resolves to a valid secret.
	resolve := func(_ context.Context, ref string) (string, error) {
		switch {
		case strings.Contains(ref, "BILLING"):
			return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", nil
		case strings.Contains(ref, "GRAFANA"):
			return "grafana:pw", nil
		}
		return "secret-for-" + ref, nil
	}
	h, err := New(context.Background(), cfg.Sources, memory.New(bus.Options{}), Options{Resolve: resolve})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got := strings.Join(h.Sources(), ","); got != "acme,alertmanager,billing,github,grafana,shop,stripe" {
		t.Errorf("sources %s", got)
	}
	// The rules block of the Rules section compiles too.
	if len(blocks) < 2 {
		t.Fatal("no rules block")
	}
	rules := "sources:\n  - name: r\n    provider: bearer\n    secrets: [x]\n" + indent(blocks[1][1], "    ")
	if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err = config.Load(context.Background(), config.ModeDev, nil, func(k string) string {
		if k == "HOOKRELAY_CONFIG" {
			return file
		}
		return ""
	})
	if err != nil {
		t.Fatalf("rules block: %v", err)
	}
	if _, err := New(context.Background(), cfg.Sources, memory.New(bus.Options{}), Options{}); err != nil {
		t.Fatalf("rules block: %v", err)
	}
}

func indent(s, pre string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = pre + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestDocsAnswers: the Answers table of docs/webhooks.md shows every
// refusal the handler can give with the catalogue's code and status, and
// the Retry-After the handler really sends.
func TestDocsAnswers(t *testing.T) {
	doc, err := os.ReadFile("../../docs/webhooks.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []*apierr.Error{errMethod, errUnknown, errTooLarge, errUnauthorized, errMalformed, errMediaType, errUnmappable, errBus} {
		row := fmt.Sprintf("| %d | `%s`", e.Status, e.Code)
		if !bytes.Contains(doc, []byte(row)) {
			t.Errorf("docs/webhooks.md has no answer row %q", row)
		}
	}
	want := fmt.Sprintf("`bus_unavailable`, `Retry-After: %d`", int(errBus.RetryAfter.Seconds()))
	if !bytes.Contains(doc, []byte(want)) {
		t.Errorf("docs/webhooks.md does not say %s", want)
	}
}
