# The module's cross-variable preconditions, planned by `terraform test` against the schema-only provider.

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

run "drain_longer_than_deregistration_delay" {
  command = plan
  variables {
    relay_stop_timeout          = 120
    relay_drain_timeout_seconds = 100
    deregistration_delay        = 60
  }
  expect_failures = [aws_lb_target_group.relay]
}

run "idle_timeout_under_four_heartbeats" {
  command = plan
  variables {
    alb_idle_timeout        = 60
    relay_heartbeat_seconds = 20
  }
  expect_failures = [aws_lb_target_group.relay]
}

run "drain_longer_than_stop_timeout" {
  command = plan
  variables {
    relay_stop_timeout          = 60
    relay_drain_grace_seconds   = 15
    relay_drain_timeout_seconds = 100
  }
  expect_failures = [aws_ecs_task_definition.relay]
}

run "webhooks_without_entry_point" {
  command = plan
  variables {
    ingest_api_gateway  = false
    ingest_function_url = false
  }
  expect_failures = [output.webhook_urls]
}
