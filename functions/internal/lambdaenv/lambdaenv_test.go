package lambdaenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/logging"
	"github.com/hookrelay/hookrelay/infra/testkit/redistest"
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

// TestReportInitErrorType: a start that could not reach Redis is reported
// to the Runtime API as Runtime.RedisUnavailable by its type, not its text;
// anything else is a configuration error.
func TestReportInitErrorType(t *testing.T) {
	got := make(chan string, 2)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/2018-06-01/runtime/init/error" {
			http.NotFound(w, r)
			return
		}
		got <- r.Header.Get("Lambda-Runtime-Function-Error-Type")
		w.WriteHeader(http.StatusAccepted)
	}))
	defer api.Close()
	getenv := func(k string) string {
		if k == "AWS_LAMBDA_RUNTIME_API" {
			return strings.TrimPrefix(api.URL, "http://")
		}
		return ""
	}
	for cause, want := range map[error]string{
		fmt.Errorf("REDIS_URL: %w: %w", ErrRedisConnect, errors.New("dial tcp: refused")): "Runtime.RedisUnavailable",
		errors.New("config: HOOKRELAY_TOKEN_KEY: connect to Redis is not a setting"):      "Runtime.ConfigError",
	} {
		if err := ReportInitError(context.Background(), getenv, cause); err != nil {
			t.Fatal(err)
		}
		if typ := <-got; typ != want {
			t.Errorf("%v: reported %s, want %s", cause, typ, want)
		}
	}
}
