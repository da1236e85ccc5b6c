package terraform

import (
	"fmt"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// checkRelayContainer: arm64, the env and secrets locals are the ones wired
// into the container, secrets come from Secrets Manager, nofile raised,
// rolling deploys never drop below capacity.
func checkRelayContainer(t testing.TB, d *deployment) []error {
	var errs []error
	td := d.module.block(t, "resource", "aws_ecs_task_definition", "relay")
	if rp := nested(td, "runtime_platform"); rp == nil {
		errs = append(errs, fmt.Errorf("aws_ecs_task_definition.relay has no runtime_platform"))
	} else if arch, err := d.str(attrExpr(rp, "cpu_architecture"), "cpu_architecture"); err != nil || arch != "ARM64" {
		errs = append(errs, fmt.Errorf("aws_ecs_task_definition.relay runtime_platform.cpu_architecture = %q, want ARM64 (the image is built for linux/arm64)", arch))
	}
	c := d.relayContainer(t)
	for key, local := range map[string]string{"environment": "relay_environment", "secrets": "relay_secrets"} {
		if !refersTo(c[key], "local", local) {
			errs = append(errs, fmt.Errorf("relay container %s must be local.%s (the checks read that local)", key, local))
		}
	}
	secrets := map[string]bool{}
	for _, obj := range objectItems(d.module.localExpr(t, "relay_secrets")) {
		if name, err := d.str(obj["name"], "secret name"); err == nil {
			secrets[name] = obj["valueFrom"] != nil
		}
	}
	for _, want := range []string{"HOOKRELAY_TOKEN_KEY", "HOOKRELAY_API_KEYS", "HOOKRELAY_REDIS_PASSWORD"} {
		if !secrets[want] {
			errs = append(errs, fmt.Errorf("relay secrets lack %s with valueFrom (Secrets Manager)", want))
		}
	}
	env, envErrs := d.relayEnv(t)
	errs = append(errs, envErrs...)
	for name := range secrets {
		if _, dup := env[name]; dup {
			errs = append(errs, fmt.Errorf("%s is both a plain env var and a secret", name))
		}
	}
	if _, ok := env["REDIS_URL"]; !ok && !envSetByExpr(t, d, "REDIS_URL") {
		errs = append(errs, fmt.Errorf("the relay task does not set REDIS_URL"))
	}
	nofile := false
	for _, obj := range objectItems(c["ulimits"]) {
		name, _ := d.str(obj["name"], "ulimit name")
		soft, _ := d.number(obj["softLimit"], "softLimit")
		hard, _ := d.number(obj["hardLimit"], "hardLimit")
		nofile = nofile || (name == "nofile" && soft >= 65536 && hard >= 65536)
	}
	if !nofile {
		errs = append(errs, fmt.Errorf("relay container needs ulimits nofile soft/hard >= 65536 (one descriptor per client)"))
	}
	svc := d.module.block(t, "resource", "aws_ecs_service", "relay")
	for attr, want := range map[string]int64{"deployment_minimum_healthy_percent": 100, "deployment_maximum_percent": 200} {
		if got, err := d.number(attrExpr(svc, attr), attr); err != nil || got != want {
			errs = append(errs, fmt.Errorf("aws_ecs_service.relay %s = %d, want %d", attr, got, want))
		}
	}
	if cb := nested(svc, "deployment_circuit_breaker"); cb == nil {
		errs = append(errs, fmt.Errorf("aws_ecs_service.relay has no deployment_circuit_breaker"))
	}
	return errs
}

// envSetByExpr reports whether the env list sets name with a value that is
// only known at apply (a resource attribute), which relayEnv skips.
func envSetByExpr(t testing.TB, d *deployment, name string) bool {
	for _, obj := range objectItems(d.module.localExpr(t, "relay_environment")) {
		if n, err := d.str(obj["name"], "env name"); err == nil && n == name {
			return true
		}
	}
	return false
}

// refersTo reports whether expr is exactly the traversal root.attr.
func refersTo(expr hclsyntax.Expression, root, attr string) bool {
	st, ok := expr.(*hclsyntax.ScopeTraversalExpr)
	if !ok || len(st.Traversal) != 2 || st.Traversal.RootName() != root {
		return false
	}
	a, ok := st.Traversal[1].(hcl.TraverseAttr)
	return ok && a.Name == attr
}

// literalStrings returns the strings of a literal list expression.
func literalStrings(expr hclsyntax.Expression) ([]string, bool) {
	if expr == nil {
		return nil, false
	}
	v, diags := expr.Value(nil)
	if diags.HasErrors() || !v.IsWhollyKnown() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.Type() != cty.String {
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}
