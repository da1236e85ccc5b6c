package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookrelay/hookrelay/infra/secrets/awsfake"
)

func TestParseRef(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Ref
		err  string
	}{
		{in: "plain", want: Ref{Kind: RefLiteral, Name: "plain"}},
		{in: "", want: Ref{Kind: RefLiteral}},
		{in: "redis://u:p@h:6379", want: Ref{Kind: RefLiteral, Name: "redis://u:p@h:6379"}},
		{in: "env:TOKEN_KEY", want: Ref{Kind: RefEnv, Name: "TOKEN_KEY"}},
		{in: "env:", err: "not a variable name"},
		{in: "env:1X", err: "not a variable name"},
		{in: "file:/run/secrets/key", want: Ref{Kind: RefFile, Name: "/run/secrets/key"}},
		{in: "file:///run/secrets/key", want: Ref{Kind: RefFile, Name: "/run/secrets/key"}},
		{in: "file:relative/key", want: Ref{Kind: RefFile, Name: "relative/key"}},
		{in: "file://host/key", err: "file:///absolute/path"},
		{in: "file:", err: "needs a path"},
		{in: "aws-sm://hookrelay/prod", want: Ref{Kind: RefSecretsManager, Name: "hookrelay/prod"}},
		{in: "aws-sm://hookrelay/prod#token_key", want: Ref{Kind: RefSecretsManager, Name: "hookrelay/prod", Key: "token_key"}},
		{in: "aws-sm://arn:aws:secretsmanager:eu-west-1:1:secret:x-AbCd#k", want: Ref{Kind: RefSecretsManager, Name: "arn:aws:secretsmanager:eu-west-1:1:secret:x-AbCd", Key: "k"}},
		{in: "aws-sm://", err: "want aws-sm://secret-id"},
		{in: "aws-sm://x#", err: "want aws-sm://secret-id"},
		{in: "aws-ssm:///hookrelay/token", want: Ref{Kind: RefSSM, Name: "/hookrelay/token"}},
		{in: "aws-ssm://", err: "aws-ssm:///parameter"},
		{in: "aws-smm://x", err: `unknown scheme "aws-smm"`},
	} {
		got, err := ParseRef(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRef(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRef(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
	if s := (Ref{Kind: RefLiteral, Name: "hunter2"}).String(); strings.Contains(s, "hunter2") {
		t.Errorf("literal String() leaks the value: %q", s)
	}
}

func TestResolverAWS(t *testing.T) {
	fake, awsCfg := awsfake.Start(t,
		map[string]string{"hookrelay/plain": "plain-secret", "hookrelay/json": `{"token_key":"from-json","n":42}`},
		map[string]string{"/hookrelay/key": "from-ssm"})
	r := NewResolver(nil, WithAWSConfig(awsCfg))
	ctx := context.Background()
	for ref, want := range map[string]string{
		"aws-sm://hookrelay/plain":          "plain-secret",
		"aws-sm://hookrelay/json#token_key": "from-json",
		"aws-sm://hookrelay/json#n":         "42",
		"aws-ssm:///hookrelay/key":          "from-ssm",
	} {
		got, err := r.Resolve(ctx, ref)
		if err != nil || got != want {
			t.Errorf("Resolve(%s) = %q, %v; want %q", ref, got, err, want)
		}
	}
	// Cached: resolving again makes no call.
	n := len(fake.Calls())
	if _, err := r.Resolve(ctx, "aws-ssm:///hookrelay/key"); err != nil {
		t.Fatal(err)
	}
	if len(fake.Calls()) != n {
		t.Errorf("second Resolve called AWS again: %q", fake.Calls())
	}
	for ref, want := range map[string]string{
		"aws-sm://hookrelay/missing":     "ResourceNotFoundException",
		"aws-sm://hookrelay/json#absent": `secret has no key "absent"`,
		"aws-sm://hookrelay/plain#k":     "not a JSON object",
		"aws-ssm:///hookrelay/missing":   "ParameterNotFound",
	} {
		_, err := r.Resolve(ctx, ref)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), ref) {
			t.Errorf("Resolve(%s) error %v, want it to name the reference and %q", ref, err, want)
		}
		if err != nil && (strings.Contains(err.Error(), "plain-secret") || strings.Contains(err.Error(), "from-json")) {
			t.Errorf("Resolve(%s) error leaks a secret: %v", ref, err)
		}
	}
}

func TestResolverEnvFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "key")
	if err := os.WriteFile(p, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := NewResolver(envMap(map[string]string{"KEY": "env-secret"}))
	ctx := context.Background()
	if v, err := r.Resolve(ctx, "env:KEY"); err != nil || v != "env-secret" {
		t.Errorf("env: %q %v", v, err)
	}
	if v, err := r.Resolve(ctx, "file:"+p); err != nil || v != "file-secret" {
		t.Errorf("file: %q %v", v, err)
	}
	if _, err := r.Resolve(ctx, "env:UNSET"); err == nil || !strings.Contains(err.Error(), "env:UNSET") {
		t.Errorf("env:UNSET error %v", err)
	}
	if _, err := r.Resolve(ctx, "file:"+empty); err == nil || !strings.Contains(err.Error(), "file is empty") {
		t.Errorf("empty file error %v", err)
	}
	if _, err := r.Resolve(ctx, "file:"+filepath.Join(dir, "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file error %v", err)
	}
}

// envMap is a getenv over a fixed map, so tests never see the real
// environment.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
