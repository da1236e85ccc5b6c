package terraform

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2/hclsyntax"
	hrconfig "github.com/hookrelay/hookrelay/infra/config"
)

// The module's contract with the code: each check returns the violations it
// finds, so the mutation tests (mutation_test.go) can show it fails.

const (
	// fargateMaxStopTimeout is the largest stopTimeout Fargate accepts.
	fargateMaxStopTimeout = 120 * time.Second
	// idleTimeoutHeartbeats is the margin: the ALB idle timeout must cover
	// this many heartbeats, so a late or lost heartbeat never cuts a stream.
	idleTimeoutHeartbeats = 4
	// minFailoverRide is how long /readyz may fail before ECS (through the
	// ALB health check) replaces the relay: long enough for a typical
	// ElastiCache Multi-AZ failover.
	minFailoverRide = 30 * time.Second
)

func loadDeployment(t testing.TB) *deployment {
	t.Helper()
	return newDeployment(loadConfig(t, moduleDir), loadConfig(t, exampleDir))
}

func TestContract(t *testing.T) {
	d := loadDeployment(t)
	checks := map[string]func(testing.TB, *deployment) []error{
		"health check":      checkHealthCheck,
		"idle timeout":      checkIdleTimeout,
		"drain windows":     checkDrainWindows,
		"stickiness":        checkStickiness,
		"relay container":   checkRelayContainer,
		"lambdas":           checkLambdas,
		"env names":         checkEnvNames,
		"variables":         checkVariables,
		"module inputs":     checkModuleInputs,
		"required provider": checkProviders,
		"deprecated attrs":  checkDeprecated,
		"function URL":      checkFunctionURLAccess,
		"name validation":   checkNameValidation,
	}
	for _, name := range slices.Sorted(maps.Keys(checks)) {
		t.Run(name, func(t *testing.T) {
			for _, err := range checks[name](t, d) {
				t.Error(err)
			}
		})
	}
}

func attrExpr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// checkHealthCheck: the ALB health check is the relay's readiness route.
func checkHealthCheck(t testing.TB, d *deployment) []error {
	tg := d.module.block(t, "resource", "aws_lb_target_group", "relay")
	hc := nested(tg, "health_check")
	if hc == nil {
		return []error{fmt.Errorf("aws_lb_target_group.relay has no health_check block")}
	}
	var errs []error
	path, err := d.str(attrExpr(hc, "path"), "health_check.path")
	if err != nil {
		return []error{err}
	}
	if ready := apiConst(t, "ReadyzPath"); path != ready {
		errs = append(errs, fmt.Errorf("aws_lb_target_group.relay health_check.path = %q, want api.ReadyzPath %q: the ALB must stop routing to a draining relay", path, ready))
	}
	// When SIGTERM comes first (Spot interruption, stop-task), the relay
	// fails /readyz, then closes clients over the drain: the ALB must have
	// noticed before the drain ends, or it routes reconnects to a relay that
	// is gone. (It is not required within the grace: a twitchy check would
	// let ECS kill every relay during a Redis failover.)
	interval, err1 := d.seconds(attrExpr(hc, "interval"), "health_check.interval")
	unhealthy, err2 := d.number(attrExpr(hc, "unhealthy_threshold"), "health_check.unhealthy_threshold")
	env, envErrs := d.relayEnv(t)
	grace, err3 := envDuration(env, "HOOKRELAY_DRAIN_GRACE")
	drain, err4 := envDuration(env, "HOOKRELAY_DRAIN_TIMEOUT")
	for _, e := range []error{err1, err2, err3, err4} {
		if e != nil {
			return append(append(errs, envErrs...), e)
		}
	}
	if notice := interval * time.Duration(unhealthy); notice > grace+drain {
		errs = append(errs, fmt.Errorf("the ALB needs %v (interval x unhealthy_threshold) to see /readyz fail, longer than the whole drain (HOOKRELAY_DRAIN_GRACE %v + HOOKRELAY_DRAIN_TIMEOUT %v)", notice, grace, drain))
	}
	if notice := interval * time.Duration(unhealthy); notice < minFailoverRide {
		errs = append(errs, fmt.Errorf("the ALB marks a relay unhealthy after %v of failing /readyz; ECS would then replace it. Keep it >= %v so a Redis failover does not restart every relay", notice, minFailoverRide))
	}
	return errs
}

// checkIdleTimeout: the ALB idle timeout stays well above the heartbeat.
func checkIdleTimeout(t testing.TB, d *deployment) []error {
	lb := d.module.block(t, "resource", "aws_lb", "relay")
	idle, err := d.seconds(attrExpr(lb, "idle_timeout"), "aws_lb.relay idle_timeout")
	if err != nil {
		return []error{err}
	}
	var errs []error
	if idle < idleTimeoutHeartbeats*hrconfig.DefaultHeartbeat {
		errs = append(errs, fmt.Errorf("aws_lb.relay idle_timeout %v is below %d x hrconfig.DefaultHeartbeat (%v): idle streams would be cut", idle, idleTimeoutHeartbeats, hrconfig.DefaultHeartbeat))
	}
	env, envErrs := d.relayEnv(t)
	errs = append(errs, envErrs...)
	if hb, err := envDuration(env, "HOOKRELAY_HEARTBEAT"); err == nil && idle < idleTimeoutHeartbeats*hb {
		errs = append(errs, fmt.Errorf("aws_lb.relay idle_timeout %v is below %d x HOOKRELAY_HEARTBEAT (%v) set in the task", idle, idleTimeoutHeartbeats, hb))
	}
	if http2, ok := attrExpr(lb, "enable_http2").(*hclsyntax.LiteralValueExpr); !ok || !http2.Val.True() {
		errs = append(errs, fmt.Errorf("aws_lb.relay must set enable_http2 = true"))
	}
	return errs
}

// checkDrainWindows: the relay's drain fits both the ALB's deregistration
// delay and ECS's stopTimeout, and the relay is told the real delay.
func checkDrainWindows(t testing.TB, d *deployment) []error {
	env, errs := d.relayEnv(t)
	grace, err1 := envDuration(env, "HOOKRELAY_DRAIN_GRACE")
	drain, err2 := envDuration(env, "HOOKRELAY_DRAIN_TIMEOUT")
	told, err3 := envDuration(env, "HOOKRELAY_DEREGISTRATION_DELAY")
	tg := d.module.block(t, "resource", "aws_lb_target_group", "relay")
	dereg, err4 := d.seconds(attrExpr(tg, "deregistration_delay"), "aws_lb_target_group.relay deregistration_delay")
	stop, err5 := d.stopTimeout(t)
	for _, e := range []error{err1, err2, err3, err4, err5} {
		if e != nil {
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if dereg < grace+drain {
		errs = append(errs, fmt.Errorf("deregistration_delay %v < HOOKRELAY_DRAIN_GRACE %v + HOOKRELAY_DRAIN_TIMEOUT %v: the ALB would cut clients mid-drain", dereg, grace, drain))
	}
	if told != dereg {
		errs = append(errs, fmt.Errorf("HOOKRELAY_DEREGISTRATION_DELAY %v != the target group's deregistration_delay %v", told, dereg))
	}
	if stop < grace+drain {
		errs = append(errs, fmt.Errorf("ECS stopTimeout %v < HOOKRELAY_DRAIN_GRACE %v + HOOKRELAY_DRAIN_TIMEOUT %v: SIGKILL would arrive mid-drain", stop, grace, drain))
	}
	if stop > fargateMaxStopTimeout {
		errs = append(errs, fmt.Errorf("ECS stopTimeout %v exceeds Fargate's maximum %v", stop, fargateMaxStopTimeout))
	}
	return errs
}

// relayContainer returns the literal keys of the relay container definition.
func (d *deployment) relayContainer(t testing.TB) map[string]hclsyntax.Expression {
	t.Helper()
	td := d.module.block(t, "resource", "aws_ecs_task_definition", "relay")
	for _, obj := range objectItems(attrExpr(td, "container_definitions")) {
		if name, ok := obj["name"]; ok {
			if s, err := d.str(name, "container name"); err == nil && s == "relay" {
				return obj
			}
		}
	}
	t.Fatalf("aws_ecs_task_definition.relay has no container named relay")
	return nil
}

func (d *deployment) stopTimeout(t testing.TB) (time.Duration, error) {
	expr, ok := d.relayContainer(t)["stopTimeout"]
	if !ok {
		return 0, fmt.Errorf("the relay container sets no stopTimeout (ECS default 30 s is shorter than the drain)")
	}
	return d.seconds(expr, "relay container stopTimeout")
}

// checkStickiness: lb_cookie stickiness is on (an optimisation the client
// relies on for fewer replays, never for correctness).
func checkStickiness(t testing.TB, d *deployment) []error {
	tg := d.module.block(t, "resource", "aws_lb_target_group", "relay")
	st := nested(tg, "stickiness")
	if st == nil {
		return []error{fmt.Errorf("aws_lb_target_group.relay has no stickiness block")}
	}
	var errs []error
	if typ, err := d.str(attrExpr(st, "type"), "stickiness.type"); err != nil || typ != "lb_cookie" {
		errs = append(errs, fmt.Errorf("aws_lb_target_group.relay stickiness.type = %q (%v), want \"lb_cookie\"", typ, err))
	}
	if on, ok := attrExpr(st, "enabled").(*hclsyntax.LiteralValueExpr); !ok || !on.Val.True() {
		errs = append(errs, fmt.Errorf("aws_lb_target_group.relay stickiness.enabled must be true"))
	}
	return errs
}
