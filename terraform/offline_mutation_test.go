package terraform

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tfMutation plants one error in the copy of terraform/ and names the
// messages real terraform must answer with (its own wording), proof that
// the offline check catches what the real provider's schema would.
type tfMutation struct {
	name     string
	file     string // relative to terraform/
	old, new string // old must occur exactly once
	dir      string // where terraform runs
	args     []string
	want     []string // a first "Warning: …" means terraform only warns (exit 0); the check fails on any warning
}

// testFile runs one of the module's tests/*.tftest.hcl files.
func testFile(name string) []string {
	return []string{"test", "-no-color", "-filter=tests/" + name + ".tftest.hcl"}
}

func tfMutations() []tfMutation {
	const module, example = "modules/hookrelay", "examples/complete"
	validate := []string{"validate", "-no-color"}
	lambda := "modules/hookrelay/lambda.tf"
	return []tfMutation{
		{"unknown argument", lambda,
			"memory_size      = var.lambda_memory\n  timeout          = var.ingest_timeout",
			"memory_mb        = var.lambda_memory\n  timeout          = var.ingest_timeout",
			example, validate, []string{"Error: Unsupported argument", `An argument named "memory_mb" is not expected here.`, "lambda.tf line 51"}},
		{"unknown argument in a nested block", lambda,
			"    subnet_ids         = var.private_subnet_ids\n    security_group_ids = [aws_security_group.lambda.id]\n  }\n\n  logging_config {\n    log_format = \"Text\"\n    log_group  = aws_cloudwatch_log_group.ingest.name",
			"    subnets            = var.private_subnet_ids\n    security_group_ids = [aws_security_group.lambda.id]\n  }\n\n  logging_config {\n    log_format = \"Text\"\n    log_group  = aws_cloudwatch_log_group.ingest.name",
			module, validate, []string{"Error: Unsupported argument", `An argument named "subnets" is not expected here.`}},
		{"unknown argument in a data source", lambda,
			`    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]`,
			`    sid       = "EventBridgeDeadLetters"
    action    = ["sqs:SendMessage"]`,
			module, validate, []string{"Error: Unsupported argument", `An argument named "action" is not expected here. Did you mean "actions"?`}},
		{"unknown resource type", lambda, `resource "aws_sqs_queue_policy" "publish_dlq" {`, `resource "aws_sqs_queuepolicy" "publish_dlq" {`,
			module, validate, []string{"Error: Invalid resource type", `The provider hashicorp/aws does not support resource type "aws_sqs_queuepolicy".`}},
		{"block nested one level too deep", lambda,
			"  environment {\n    variables = local.lambda_environment\n  }",
			"  environment {\n    variables = local.lambda_environment\n    vpc_config {\n      subnet_ids = var.private_subnet_ids\n    }\n  }",
			module, validate, []string{"Error: Unsupported block type", `Blocks of type "vpc_config" are not expected here.`}},
		{"block written as an argument", lambda,
			"  environment {\n    variables = local.lambda_environment\n  }",
			"  environment = {\n    variables = local.lambda_environment\n  }",
			module, validate, []string{"Error: Unsupported argument", `An argument named "environment" is not expected here. Did you mean to define a block of type "environment"?`}},
		{"second block where one is allowed", lambda,
			"  environment {\n    variables = local.lambda_environment\n  }",
			"  environment {\n    variables = local.lambda_environment\n  }\n  environment {\n    variables = {}\n  }",
			module, validate, []string{"Error: Too many environment blocks", "No more than 1 \"environment\" blocks are allowed"}},
		{"missing required argument", lambda, "  role             = aws_iam_role.lambda[\"ingest\"].arn\n", "",
			module, validate, []string{"Error: Missing required argument", `The argument "role" is required, but no definition was found.`}},
		{"missing required block", "modules/hookrelay/alb.tf",
			"  default_action {\n    type = \"redirect\"\n\n    redirect {\n      port        = \"443\"\n      protocol    = \"HTTPS\"\n      status_code = \"HTTP_301\"\n    }\n  }\n", "",
			module, validate, []string{"Error: Insufficient default_action blocks", `At least 1 "default_action" blocks are required.`}},
		{"type mismatch", lambda, "  timeout          = var.ingest_timeout", "  timeout          = { seconds = 5 }",
			module, validate, []string{"Error: Incorrect attribute value type", `Inappropriate value for attribute "timeout": number required`}},
		{"list for a string", lambda, "  handler          = \"bootstrap\"\n  architectures    = [\"arm64\"]\n  filename         = local.ingest_zip", "  handler          = [\"bootstrap\"]\n  architectures    = [\"arm64\"]\n  filename         = local.ingest_zip",
			module, validate, []string{"Error: Incorrect attribute value type", `Inappropriate value for attribute "handler": string required`}},
		{"reference to a missing attribute", lambda, "integration_uri        = aws_lambda_function.ingest.invoke_arn", "integration_uri        = aws_lambda_function.ingest.invoke_url",
			module, validate, []string{"Error: Unsupported attribute", `This object has no argument, nested block, or exported attribute named "invoke_url".`}},
		{"example input the module lacks", "examples/complete/main.tf", "  relay_min_count       = 2", "  relay_min_tasks       = 2",
			example, validate, []string{"Error: Unsupported argument", `An argument named "relay_min_tasks" is not expected here.`}},
		// Review 2026-12 item 2 (the flag comes from gen/deprecations.json).
		{"deprecated attribute", "modules/hookrelay/main.tf", "data.aws_region.current.region", "data.aws_region.current.name",
			example, validate, []string{"Warning: Deprecated attribute", `The attribute "name" is deprecated.`}},
		// Review 2026-12 item 1: only a 6.x provider is installable here.
		{"aws back on 5.x", "modules/hookrelay/versions.tf", `version = ">= 6.0, < 7.0"`, `version = ">= 5.40, < 6.0"`,
			module, []string{"init", "-upgrade", "-backend=false", "-input=false", "-no-color"},
			[]string{"Error: Failed to query available provider packages", "no available releases match the given constraints >= 5.40.0, < 6.0.0"}},
		// Review 2026-12 items 3 and 4 through `terraform test`.
		{"old name rule", "modules/hookrelay/variables.tf", `can(regex("^[a-z](-?[a-z0-9])+$", var.name)) && length(var.name) <= 21`, `can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))`,
			module, testFile("variables"), []string{`run "name_trailing_dash"... fail`, "Missing expected failure"}},
		{"no public URL grant", lambda, `action                 = "lambda:InvokeFunctionUrl"`, `action                 = "lambda:InvokeFunction"`,
			module, testFile("function_url"), []string{`run "function_url_grants"... fail`, "no lambda:InvokeFunctionUrl grant to everyone"}},
	}
}

// runMutations applies each mutation to the initialised copy, runs
// terraform, restores the file and checks terraform failed with the
// expected messages.
func runMutations(t *testing.T, o *offline, full bool) {
	for _, m := range tfMutations() {
		t.Run(strings.ReplaceAll(m.name, " ", "_"), func(t *testing.T) {
			if !full && m.args[0] == "test" {
				t.Skip("full check only (make tf-check)")
			}
			path := filepath.Join(o.root, m.file)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(orig), m.old); n != 1 {
				t.Fatalf("%s holds %q %d times, want once: update the mutation", m.file, m.old, n)
			}
			if err := os.WriteFile(path, []byte(strings.Replace(string(orig), m.old, m.new, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := os.WriteFile(path, orig, 0o644); err != nil {
					t.Fatalf("restore %s: %v", m.file, err)
				}
			}()
			out, ok := o.run(t, m.dir, m.args...)
			if ok && !strings.HasPrefix(m.want[0], "Warning:") {
				t.Fatalf("terraform %s accepted the mutation:\n%s", strings.Join(m.args, " "), out)
			}
			flat := strings.Join(strings.Fields(out), " ") // terraform wraps long messages
			for _, w := range m.want {
				if !strings.Contains(flat, w) {
					t.Errorf("terraform's output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}
