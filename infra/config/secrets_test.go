package config

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hookrelay/hookrelay/infra/secrets"
	"github.com/hookrelay/hookrelay/infra/secrets/awsfake"
)

// TestLoadResolvesSecrets goes through Load: references in the file, the
// environment and flags are resolved, and a missing one fails naming the
// key and the reference but never a value.
func TestLoadResolvesSecrets(t *testing.T) {
	key := strings.Repeat("s", 40)
	_, awsCfg := awsfake.Start(t,
		map[string]string{"hookrelay/prod": `{"token_key":"` + key + `","ci":"ci-key-value"}`},
		map[string]string{"/hookrelay/redis": "redis://:pw@cache:6379"})
	file := writeFile(t, "hookrelay.yaml", `
token_key: aws-sm://hookrelay/prod#token_key
api_keys:
  ci: aws-sm://hookrelay/prod#ci
  ops: env:OPS_KEY
`)
	env := map[string]string{"HOOKRELAY_CONFIG": file, "REDIS_URL": "aws-ssm:///hookrelay/redis", "OPS_KEY": "ops-key-value"}
	c := mustLoad(t, ModeServe, nil, env, WithResolverOptions(secrets.WithAWSConfig(awsCfg)))
	if c.SigningKey() != key || c.RedisURL != "redis://:pw@cache:6379" {
		t.Errorf("resolved key %q redis %q", c.SigningKey(), c.RedisURL)
	}
	if len(c.APIKeys) != 2 || c.APIKeys[0] != (APIKey{"ci", "ci-key-value"}) || c.APIKeys[1] != (APIKey{"ops", "ops-key-value"}) {
		t.Errorf("api keys %+v", c.APIKeys)
	}

	env["HOOKRELAY_TOKEN_KEY"] = "aws-sm://hookrelay/gone#token_key"
	_, err := Load(context.Background(), ModeServe, nil, envMap(env), WithResolverOptions(secrets.WithAWSConfig(awsCfg)))
	if err == nil || !strings.Contains(err.Error(), "HOOKRELAY_TOKEN_KEY: resolve aws-sm://hookrelay/gone#token_key") {
		t.Fatalf("missing secret: %v", err)
	}
	delete(env, "HOOKRELAY_TOKEN_KEY")
	delete(env, "OPS_KEY")
	_, err = Load(context.Background(), ModeServe, nil, envMap(env), WithResolverOptions(secrets.WithAWSConfig(awsCfg)))
	if err == nil || !strings.Contains(err.Error(), ":3: api_keys (ops): resolve env:OPS_KEY: variable is unset") {
		t.Fatalf("missing env secret: %v", err)
	}
	if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), "ci-key-value") {
		t.Fatalf("error leaks a secret: %v", err)
	}
}

// TestLoadResolveTimeout: an AWS endpoint that never answers fails Load
// within the resolve timeout, naming the key.
func TestLoadResolveTimeout(t *testing.T) {
	_, awsCfg := awsfake.Start(t, nil, nil)
	srv := awsfake.Hanging(t)
	awsCfg.BaseEndpoint = &srv
	awsCfg.RetryMaxAttempts = 1
	start := time.Now()
	_, err := Load(context.Background(), ModeDev, nil, envMap(map[string]string{"HOOKRELAY_TOKEN_KEY": "aws-sm://slow"}),
		WithResolverOptions(secrets.WithAWSConfig(awsCfg)), WithResolveTimeout(200*time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "HOOKRELAY_TOKEN_KEY: resolve aws-sm://slow") {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}
