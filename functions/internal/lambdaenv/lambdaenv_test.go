package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/logging"
	"github.com/hookrelay/hookrelay/internal/redistest"
)

// TestSetupLoggerMatchesRelay: a Lambda logs through infra/logging, like
// the relay: HOOKRELAY_LOG_LEVEL=warning (which config accepts) really
// logs at WARN, credentials are redacted, and a misspelled HOOKRELAY_*
// variable in the function's environment is warned about.
func TestSetupLoggerMatchesRelay(t *testing.T) {
	srv := redistest.Start(t)
	vars := map[string]string{"REDIS_URL": srv.URL(), "HOOKRELAY_LOG_LEVEL": "warning"}
	var out bytes.Buffer
	env := Env{
		Getenv:  func(k string) string { return vars[k] },
		Environ: []string{"REDIS_URL=" + srv.URL(), "HOOKRELAY_LOG_LEVEL=warning", "HOOKRELAY_HEARTBEET=10s"},
		Log:     &out,
	}
	cfg, log, b, err := Setup(context.Background(), "publish", env)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if cfg.LogLevel != "warning" {
		t.Fatalf("log level %q", cfg.LogLevel)
	}
	log.Info("not at warning level")
	log.Warn("shown", "token", "eyJsecret", "api_key", "k1")

	var sawTypo, sawShown bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		switch rec["msg"] {
		case "not at warning level":
			t.Errorf("INFO logged at level warning: %s", line)
		case "shown":
			sawShown = true
			if rec["token"] != logging.Redacted || rec["api_key"] != logging.Redacted {
				t.Errorf("credentials not redacted: %s", line)
			}
		case "config":
			sawTypo = sawTypo || strings.Contains(line, "HOOKRELAY_HEARTBEET")
		}
	}
	if !sawShown || !sawTypo {
		t.Errorf("want the WARN record and a warning naming HOOKRELAY_HEARTBEET, got:\n%s", out.String())
	}
	if strings.Contains(out.String(), "eyJsecret") {
		t.Errorf("secret in log: %s", out.String())
	}
}
