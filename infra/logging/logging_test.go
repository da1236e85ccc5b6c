package logging

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestNewJSON(t *testing.T) {
	var buf bytes.Buffer
	log, err := New("warn", "json", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "topic", "order:1", "token", "eyJsecret", "redis_password", "pw", slog.Group("req", "authorization", "Bearer x"))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want 1 line at warn, got %q", buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec["msg"] != "shown" || rec["level"] != "WARN" || rec["topic"] != "order:1" {
		t.Errorf("record %v", rec)
	}
	if rec["token"] != Redacted || rec["redis_password"] != Redacted || rec["req"].(map[string]any)["authorization"] != Redacted {
		t.Errorf("credentials not redacted: %v", rec)
	}
	if strings.Contains(buf.String(), "eyJsecret") || strings.Contains(buf.String(), "Bearer") {
		t.Errorf("secret in log: %s", buf.String())
	}
}

func TestNewText(t *testing.T) {
	var buf bytes.Buffer
	log, err := New("DEBUG", "text", &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("dbg", "k", "v")
	if !strings.Contains(buf.String(), "level=DEBUG msg=dbg k=v") {
		t.Errorf("text %q", buf.String())
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := New("loud", "json", io.Discard); err == nil || !strings.Contains(err.Error(), `log level "loud"`) {
		t.Errorf("level: %v", err)
	}
	if _, err := New("info", "xml", io.Discard); err == nil || !strings.Contains(err.Error(), `log format "xml"`) {
		t.Errorf("format: %v", err)
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "Warning": slog.LevelWarn, "error": slog.LevelError} {
		if got, err := ParseLevel(in); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v", in, got, err)
		}
	}
}
