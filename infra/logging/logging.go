// Package logging is the one slog setup every hookrelay binary uses, the
// relay and both Lambdas alike: the same level names (warning included),
// the same formats and the same redaction of credential attributes. It
// imports nothing but the standard library, so the Lambdas can link it
// without Prometheus.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// ParseLevel reads a log level: debug, info, warn (or warning), error,
// case-insensitive.
func ParseLevel(level string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(level)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, warn or error", level)
}

// New returns a logger writing to w at level in format "json" (one
// object per line, for CloudWatch and friends) or "text" (logfmt, for a
// terminal). Attributes whose key names a credential (token,
// authorization, password, secret, api_key, cookie, ...) are replaced by
// "[redacted]": a defence in depth, callers should not log them at all.
func New(level, format string, w io.Writer) (*slog.Logger, error) {
	lvl, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	f, err := ParseFormat(format)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: lvl, ReplaceAttr: redact}
	if f == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// ParseFormat reads a log format, json (the default) or text,
// case-insensitive, and returns it in lower case.
func ParseFormat(format string) (string, error) {
	switch f := strings.ToLower(strings.TrimSpace(format)); f {
	case "json", "":
		return "json", nil
	case "text":
		return f, nil
	}
	return "", fmt.Errorf("log format %q: want json or text", format)
}

// Redacted is what a credential attribute's value is replaced by.
const Redacted = "[redacted]"

// redact hides values of attributes named like credentials.
func redact(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup || !isSecretKey(a.Key) {
		return a
	}
	return slog.String(a.Key, Redacted)
}

func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	switch k {
	case "token", "authorization", "password", "secret", "api_key", "apikey", "cookie", "set-cookie", "signature", "token_key":
		return true
	}
	return strings.HasSuffix(k, "_token") || strings.HasSuffix(k, "_secret") || strings.HasSuffix(k, "_password")
}
