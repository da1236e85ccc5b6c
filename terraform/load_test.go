package terraform

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	hrconfig "github.com/hookrelay/hookrelay/infra/config"
)

// Placeholders for values only known after apply (resource attributes) or
// held in Secrets Manager: the shape the relay will see, not the value.
var applyTimePlaceholders = map[string]string{
	"REDIS_URL":                   "rediss://master.hookrelay-redis.abc123.use1.cache.amazonaws.com:6379",
	"HOOKRELAY_TOKEN_KEY":         strings.Repeat("k", 64),
	"HOOKRELAY_API_KEYS":          "default:" + strings.Repeat("a", 48),
	"HOOKRELAY_REDIS_PASSWORD":    strings.Repeat("p", 64),
	"HOOKRELAY_REDIS_IAM_CLUSTER": "hookrelay-redis",
	"HOOKRELAY_REDIS_IAM_REGION":  "us-east-1",
}

// withVar returns a copy of d with one module variable set.
func (d *deployment) withVar(name string, v cty.Value) *deployment {
	vars := map[string]cty.Value{}
	for k, x := range d.vars {
		vars[k] = x
	}
	vars[name] = v
	return &deployment{module: d.module, example: d.example, vars: vars, ctx: evalContext(vars, d.module)}
}

// envFrom evaluates ECS name/value lists; values only known at apply (and
// secrets) get their placeholder.
func (d *deployment) envFrom(t testing.TB, locals ...string) (map[string]string, error) {
	env := map[string]string{}
	for _, local := range locals {
		list, err := d.envList(t, local)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			if e.known {
				env[e.name] = e.value
				continue
			}
			p, ok := applyTimePlaceholders[e.name]
			if !ok {
				return nil, fmt.Errorf("%s is only known at apply and this test has no placeholder for it", e.name)
			}
			env[e.name] = p
		}
	}
	return env, nil
}

// TestRelayTaskEnvironmentLoads feeds the relay container's environment
// (every Redis auth mode) to the relay's own config.Load in serve mode: the
// task must start, and the loaded drain timings must fit the target group.
func TestRelayTaskEnvironmentLoads(t *testing.T) {
	base := loadDeployment(t)
	for _, mode := range []string{"auth_token", "rbac", "iam"} {
		t.Run(mode, func(t *testing.T) {
			d := base.withVar("redis_auth_mode", cty.StringVal(mode))
			env, err := d.envFrom(t, "relay_environment")
			if err != nil {
				t.Fatal(err)
			}
			// The secrets list depends on resources (the Redis secret exists
			// except in iam mode); its names are checked statically.
			for _, obj := range objectItems(d.module.localExpr(t, "relay_secrets")) {
				name, err := d.str(obj["name"], "secret name")
				if err != nil {
					t.Fatal(err)
				}
				if name == "HOOKRELAY_REDIS_PASSWORD" && mode == "iam" {
					continue // no Redis secret in iam mode
				}
				env[name] = applyTimePlaceholders[name]
			}
			cfg, err := hrconfig.Load(context.Background(), hrconfig.ModeServe, nil, getenv(env), hrconfig.WithOutput(io.Discard))
			if err != nil {
				t.Fatalf("relay serve would not start with the task environment %v: %v", redact(env), err)
			}
			if cfg.DrainGrace+cfg.DrainTimeout > cfg.DeregistrationDelay {
				t.Errorf("loaded drain %v + %v exceeds the deregistration delay %v", cfg.DrainGrace, cfg.DrainTimeout, cfg.DeregistrationDelay)
			}
			if got := cfg.RedisIAMAuth; got != (mode == "iam") {
				t.Errorf("RedisIAMAuth = %v in mode %s", got, mode)
			}
		})
	}
}

// TestLambdaEnvironmentLoads does the same for the Lambdas (lambda mode),
// with the example's hookrelay.yaml.example as the layer's config file, so
// the example also passes the strict config decoder.
func TestLambdaEnvironmentLoads(t *testing.T) {
	d := loadDeployment(t)
	env := map[string]string{}
	for _, obj := range objectItems(d.module.localExpr(t, "lambda_environment")) {
		for name, expr := range obj {
			if v, err := d.str(expr, name); err == nil {
				env[name] = v
			} else if p, ok := applyTimePlaceholders[name]; ok {
				env[name] = p
			}
		}
	}
	env["HOOKRELAY_REDIS_PASSWORD"] = applyTimePlaceholders["HOOKRELAY_REDIS_PASSWORD"]
	const layerPath = "/opt/hookrelay.yaml"
	if !strings.Contains(string(d.module.files[moduleDir+"/lambda.tf"]), `HOOKRELAY_CONFIG = "`+layerPath+`"`) {
		t.Fatalf("the ingest Lambda no longer sets HOOKRELAY_CONFIG = %q; update this test", layerPath)
	}
	env["HOOKRELAY_CONFIG"] = layerPath
	example, err := os.ReadFile(exampleDir + "/hookrelay.yaml.example")
	if err != nil {
		t.Fatal(err)
	}
	read := func(path string) ([]byte, error) {
		if path != layerPath {
			return nil, fmt.Errorf("unexpected config path %s", path)
		}
		return example, nil
	}
	cfg, err := hrconfig.Load(context.Background(), hrconfig.ModeLambda, nil, getenv(env),
		hrconfig.WithOutput(io.Discard), hrconfig.WithConfigFileReader(read))
	if err != nil {
		t.Fatalf("the ingest Lambda would not start with %v and hookrelay.yaml.example: %v", redact(env), err)
	}
	if len(cfg.Sources) == 0 {
		t.Error("hookrelay.yaml.example configures no webhook sources")
	}
}

func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// redact hides secret values in failure messages.
func redact(env map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range env {
		if strings.Contains(k, "KEY") || strings.Contains(k, "PASSWORD") {
			v = "<redacted>"
		}
		out[k] = v
	}
	return out
}
