# The module's variable validations, planned by `terraform test` against
# the schema-only provider (make tf-check; docs/deploy.md). Paths are
# relative to modules/hookrelay; the Lambda zips are the ones `make lambda`
# writes (the offline check makes empty stand-ins).

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

run "defaults_plan" {
  command = plan

  assert {
    condition     = aws_elasticache_replication_group.redis.replication_group_id == "hookrelay-redis"
    error_message = "the replication group id is not <name>-redis"
  }
}

run "name_longest" {
  command = plan
  variables {
    name = "a2345678901234567890b"
  }
  assert {
    condition     = aws_lb.relay.name == "a2345678901234567890b-alb"
    error_message = "a 21-character name must be accepted"
  }
}

# Review 2026-12 item 4: ElastiCache ids forbid "--" and a trailing "-".
run "name_trailing_dash" {
  command = plan
  variables {
    name = "ab-"
  }
  expect_failures = [var.name]
}

run "name_double_dash" {
  command = plan
  variables {
    name = "a--b"
  }
  expect_failures = [var.name]
}

run "name_too_long" {
  command = plan
  variables {
    name = "a2345678901234567890bc"
  }
  expect_failures = [var.name]
}

run "name_upper_case" {
  command = plan
  variables {
    name = "Hookrelay"
  }
  expect_failures = [var.name]
}

run "one_public_subnet" {
  command = plan
  variables {
    public_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
  }
  expect_failures = [var.public_subnet_ids]
}

run "one_private_subnet" {
  command = plan
  variables {
    private_subnet_ids = ["subnet-0bbbbbbbbbbbbbbb1"]
  }
  expect_failures = [var.private_subnet_ids]
}

run "idle_timeout_below_alb_minimum" {
  command = plan
  variables {
    alb_idle_timeout = 30
  }
  expect_failures = [var.alb_idle_timeout]
}

run "deregistration_delay_over_alb_maximum" {
  command = plan
  variables {
    deregistration_delay = 3601
  }
  expect_failures = [var.deregistration_delay]
}

run "stop_timeout_over_fargate_maximum" {
  command = plan
  variables {
    relay_stop_timeout = 121
  }
  expect_failures = [var.relay_stop_timeout]
}

run "unknown_redis_auth_mode" {
  command = plan
  variables {
    redis_auth_mode = "password"
  }
  expect_failures = [var.redis_auth_mode]
}

run "no_redis_replica" {
  command = plan
  variables {
    redis_replicas_per_node_group = 0
  }
  expect_failures = [var.redis_replicas_per_node_group]
}

run "ingest_timeout_over_api_gateway" {
  command = plan
  variables {
    ingest_timeout = 30
  }
  expect_failures = [var.ingest_timeout]
}
