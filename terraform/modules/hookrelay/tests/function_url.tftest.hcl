# The ingest Lambda's public Function URL, planned by `terraform test`
# against the schema-only provider.

variables {
  vpc_id              = "vpc-0123456789abcdef0"
  public_subnet_ids   = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]
  private_subnet_ids  = ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]
  certificate_arn     = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  relay_image         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/hookrelay-relay:v0.1.0"
  lambda_zip_dir      = "../../../build/lambda"
  webhook_config_file = "../../examples/complete/hookrelay.yaml.example"
  webhook_sources     = ["shopify", "alertmanager"]
}

# Review 2026-12 item 3: a public Function URL answers 403 unless the
# function's policy grants both actions to everyone.
run "function_url_grants" {
  command = plan
  variables {
    ingest_api_gateway  = false
    ingest_function_url = true
  }
  assert {
    condition     = aws_lambda_function_url.ingest[0].authorization_type == "NONE"
    error_message = "the ingest Function URL is not public"
  }
  assert {
    condition = (
      aws_lambda_permission.ingest_url[0].action == "lambda:InvokeFunctionUrl" &&
      aws_lambda_permission.ingest_url[0].principal == "*" &&
      aws_lambda_permission.ingest_url[0].function_url_auth_type == "NONE"
    )
    error_message = "no lambda:InvokeFunctionUrl grant to everyone for the NONE-auth URL"
  }
  assert {
    condition = (
      aws_lambda_permission.ingest_url_invoke[0].action == "lambda:InvokeFunction" &&
      aws_lambda_permission.ingest_url_invoke[0].principal == "*"
    )
    error_message = "no lambda:InvokeFunction grant to everyone for the NONE-auth URL"
  }
}

run "no_function_url_no_public_grants" {
  command = plan
  assert {
    condition     = length(aws_lambda_permission.ingest_url) == 0 && length(aws_lambda_permission.ingest_url_invoke) == 0
    error_message = "public grants exist without a Function URL"
  }
}
