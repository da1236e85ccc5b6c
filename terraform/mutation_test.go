package terraform

import (
	"strings"
	"testing"
)

// Each mutation breaks one promise in a copy of the HCL (in memory) and the
// matching check must report it: proof the contract tests can fail.
func TestContractCatchesMutations(t *testing.T) {
	module, example := loadConfig(t, moduleDir), loadConfig(t, exampleDir)
	cases := []struct {
		name      string
		example   bool // mutate the example instead of the module
		file      string
		old, new  string
		check     func(testing.TB, *deployment) []error
		wantError string
	}{
		{"health path", false, "alb.tf", `path                = "/readyz"`, `path                = "/healthz"`, checkHealthCheck, "api.ReadyzPath"},
		{"slow health check", false, "alb.tf", "interval            = var.health_check_interval", "interval            = 60", checkHealthCheck, "longer than the whole drain"},
		{"twitchy health check", true, "main.tf", "alb_idle_timeout            = 120", "alb_idle_timeout            = 120\n  health_check_interval       = 5", checkHealthCheck, "Redis failover"},
		{"idle timeout", false, "alb.tf", "idle_timeout               = var.alb_idle_timeout", "idle_timeout               = 30", checkIdleTimeout, "idle_timeout 30s"},
		{"example idle timeout", true, "main.tf", "alb_idle_timeout            = 120", "alb_idle_timeout            = 45", checkIdleTimeout, "idle_timeout 45s"},
		{"drain too long for Fargate", true, "main.tf", "relay_drain_timeout_seconds = 100", "relay_drain_timeout_seconds = 240", checkDrainWindows, "stopTimeout 2m0s <"},
		{"short deregistration", true, "main.tf", "deregistration_delay        = 300", "deregistration_delay        = 60", checkDrainWindows, "deregistration_delay 1m0s <"},
		{"relay told wrong delay", false, "ecs.tf", `value = "${var.deregistration_delay}s"`, `value = "999s"`, checkDrainWindows, "HOOKRELAY_DEREGISTRATION_DELAY 16m39s != "},
		{"stop timeout over Fargate max", false, "ecs.tf", "stopTimeout = var.relay_stop_timeout", "stopTimeout = 180", checkDrainWindows, "Fargate's maximum"},
		{"app cookie", false, "alb.tf", `type            = "lb_cookie"`, `type            = "app_cookie"`, checkStickiness, "lb_cookie"},
		{"x86 relay", false, "ecs.tf", `cpu_architecture        = "ARM64"`, `cpu_architecture        = "X86_64"`, checkRelayContainer, "ARM64"},
		{"token key in plain env", false, "ecs.tf", `{ name = "HOOKRELAY_TOKEN_KEY", valueFrom`, `{ name = "HOOKRELAY_TOKEN_KEYS", valueFrom`, checkRelayContainer, "HOOKRELAY_TOKEN_KEY with valueFrom"},
		{"handler", false, "lambda.tf", `handler          = "bootstrap"`, `handler          = "main"`, checkLambdas, `handler = "main"`},
		{"runtime", false, "lambda.tf", `runtime          = "provided.al2023"`, `runtime          = "go1.x"`, checkLambdas, "provided.al2023"},
		{"zip name", false, "main.tf", `ingest_zip  = "${var.lambda_zip_dir}/ingest-arm64.zip"`, `ingest_zip  = "${var.lambda_zip_dir}/ingest.zip"`, checkLambdas, "ingest-arm64.zip"},
		{"stale hash", false, "lambda.tf", "source_code_hash = filebase64sha256(local.publish_zip)", "source_code_hash = filebase64sha256(local.ingest_zip)", checkLambdas, "source_code_hash"},
		{"no batch failures", false, "lambda.tf", `function_response_types = ["ReportBatchItemFailures"]`, `function_response_types = []`, checkLambdas, "batch item failures"},
		{"env typo", false, "ecs.tf", `"HOOKRELAY_MAX_CONNECTIONS"`, `"HOOKRELAY_MAX_CONNECTION"`, checkEnvNames, "HOOKRELAY_MAX_CONNECTION is not a hookrelay setting"},
		{"undeclared var", false, "alb.tf", "var.alb_deletion_protection", "var.alb_deletion_protect", checkVariables, "var.alb_deletion_protect is referenced but not declared"},
		{"unused var", false, "alb.tf", "enable_deletion_protection = var.alb_deletion_protection", "enable_deletion_protection = true", checkVariables, `variable "alb_deletion_protection" is declared but never used`},
		{"unknown module input", true, "main.tf", "relay_min_count       = 2", "relay_min_tasks       = 2", checkModuleInputs, "relay_min_tasks, which the module does not declare"},
		{"unpinned provider", false, "versions.tf", `version = ">= 6.0, < 7.0"`, `version = ">= 6.0"`, checkProviders, "not pinned"},
		{"aws back on 5.x", false, "versions.tf", `version = ">= 6.0, < 7.0"`, `version = ">= 5.40, < 6.0"`, checkProviders, "must be the 6.x line"},
		{"example aws on 5.x too", true, "versions.tf", `version = ">= 6.0, < 7.0"`, `version = ">= 5.40, < 7.0"`, checkProviders, "must be the 6.x line"},
		{"deprecated region name", false, "main.tf", "data.aws_region.current.region", "data.aws_region.current.name", checkDeprecated, "deprecated in aws provider 6.x; use .region"},
		{"no public URL grant", false, "lambda.tf", `action                 = "lambda:InvokeFunctionUrl"`, `action                 = "lambda:GetFunctionUrlConfig"`, checkFunctionURLAccess, "grants lambda:InvokeFunctionUrl"},
		{"URL grant for IAM auth", false, "lambda.tf", `function_url_auth_type = "NONE"`, `function_url_auth_type = "AWS_IAM"`, checkFunctionURLAccess, "grants lambda:InvokeFunctionUrl"},
		{"no invoke grant", false, "lambda.tf", `statement_id  = "AllowPublicFunctionURLInvoke"
  action        = "lambda:InvokeFunction"`, `statement_id  = "AllowPublicFunctionURLInvoke"
  action        = "lambda:InvokeAsync"`, checkFunctionURLAccess, "grants lambda:InvokeFunction to"},
		{"grant without the URL's count", false, "lambda.tf", `resource "aws_lambda_permission" "ingest_url_invoke" {
  count         = var.ingest_function_url ? 1 : 0`, `resource "aws_lambda_permission" "ingest_url_invoke" {
  count         = 1`, checkFunctionURLAccess, "grants lambda:InvokeFunction to"},
		{"name with trailing dash", false, "variables.tf", `regex("^[a-z](-?[a-z0-9])+$", var.name)`, `regex("^[a-z][a-z0-9-]{1,20}$", var.name)`, checkNameValidation, `passes the module's validation but gives aws_elasticache_replication_group.redis.replication_group_id = "ab--redis"`},
		{"name too long", false, "variables.tf", `&& length(var.name) <= 21`, `&& length(var.name) <= 40`, checkNameValidation, "bbbbbbbbbbbbbbbbbbbbb\" = true, want false"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, ex := module, example
			if tc.example {
				ex = example.withFile(t, tc.file, tc.old, tc.new)
			} else {
				m = module.withFile(t, tc.file, tc.old, tc.new)
			}
			if errs := tc.check(t, newDeployment(module, example)); len(errs) > 0 {
				t.Fatalf("the unmutated configuration already fails: %v", errs)
			}
			errs := tc.check(t, newDeployment(m, ex))
			if len(errs) == 0 {
				t.Fatalf("mutation %q -> %q went unnoticed", tc.old, tc.new)
			}
			for _, err := range errs {
				if strings.Contains(err.Error(), tc.wantError) {
					return
				}
			}
			t.Fatalf("mutation caught, but no error mentions %q: %v", tc.wantError, errs)
		})
	}
}
