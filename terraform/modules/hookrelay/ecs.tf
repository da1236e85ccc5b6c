# Relays on ECS Fargate (arm64). Drain timings: ECS sends SIGTERM, waits
# stopTimeout (Fargate max 120 s), then SIGKILL. The relay fails /readyz for
# HOOKRELAY_DRAIN_GRACE, then closes clients spread over
# HOOKRELAY_DRAIN_TIMEOUT, so grace + timeout must fit in stopTimeout:
# 15 s + 100 s <= 120 s here (the relay's own 240 s default is for hosts
# that allow longer). terraform/contract_test.go checks these numbers.

locals {
  relay_environment = concat(
    [
      { name = "HOOKRELAY_ADDR", value = ":${local.relay_port}" },
      { name = "HOOKRELAY_METRICS_ADDR", value = "127.0.0.1:${local.metrics_port}" },
      { name = "REDIS_URL", value = local.redis_url },
      { name = "HOOKRELAY_REDIS_CLUSTER", value = tostring(local.redis_cluster_mode) },
      { name = "HOOKRELAY_TRUST_PROXY", value = "true" },
      { name = "HOOKRELAY_ALLOWED_ORIGINS", value = join(",", var.relay_allowed_origins) },
      { name = "HOOKRELAY_HEARTBEAT", value = "${var.relay_heartbeat_seconds}s" },
      { name = "HOOKRELAY_DRAIN_GRACE", value = "${var.relay_drain_grace_seconds}s" },
      { name = "HOOKRELAY_DRAIN_TIMEOUT", value = "${var.relay_drain_timeout_seconds}s" },
      { name = "HOOKRELAY_DEREGISTRATION_DELAY", value = "${var.deregistration_delay}s" },
      { name = "HOOKRELAY_MAX_CONNECTIONS", value = tostring(var.relay_max_connections) },
      { name = "HOOKRELAY_LOG_LEVEL", value = var.relay_log_level },
      { name = "HOOKRELAY_LOG_FORMAT", value = "json" },
    ],
    local.redis_client_environment,
  )

  # How relays and Lambdas authenticate to Redis, per var.redis_auth_mode.
  redis_client_environment = concat(
    var.redis_auth_mode == "rbac" ? [{ name = "HOOKRELAY_REDIS_USERNAME", value = local.redis_user_name }] : [],
    var.redis_auth_mode == "iam" ? [
      { name = "HOOKRELAY_REDIS_IAM_AUTH", value = "true" },
      { name = "HOOKRELAY_REDIS_IAM_CLUSTER", value = aws_elasticache_replication_group.redis.id },
      { name = "HOOKRELAY_REDIS_IAM_USER", value = local.redis_user_id },
      { name = "HOOKRELAY_REDIS_IAM_REGION", value = local.region },
    ] : [],
  )

  # ECS resolves these at task start with the execution role; the values
  # never appear in the task definition.
  relay_secrets = concat(
    [
      { name = "HOOKRELAY_TOKEN_KEY", valueFrom = aws_secretsmanager_secret.token_key.arn },
      { name = "HOOKRELAY_API_KEYS", valueFrom = aws_secretsmanager_secret.api_keys.arn },
    ],
    [for arn in local.redis_secret_arns : { name = "HOOKRELAY_REDIS_PASSWORD", valueFrom = "${arn}:password::" }],
  )
}

resource "aws_ecs_cluster" "relay" {
  name = var.name

  # Container Insights publishes RunningTaskCount, which the connection
  # scaling policy divides by.
  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

resource "aws_ecs_task_definition" "relay" {
  family                   = "${var.name}-relay"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.relay_cpu
  memory                   = var.relay_memory
  execution_role_arn       = aws_iam_role.relay_execution.arn
  task_role_arn            = aws_iam_role.relay_task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "ARM64"
  }

  container_definitions = jsonencode([
    {
      name      = "relay"
      image     = var.relay_image
      essential = true
      # The image's ENTRYPOINT is ["/relay", "serve"].
      portMappings = [
        { containerPort = local.relay_port, protocol = "tcp", name = "http", appProtocol = "http" },
      ]
      environment = local.relay_environment
      secrets     = local.relay_secrets
      stopTimeout = var.relay_stop_timeout
      # One file descriptor per client connection.
      ulimits = [
        { name = "nofile", softLimit = 65536, hardLimit = 65536 },
      ]
      readonlyRootFilesystem = true
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          "awslogs-group"         = aws_cloudwatch_log_group.relay.name
          "awslogs-region"        = local.region
          "awslogs-stream-prefix" = "relay"
          # Never block the relay on a slow log pipe.
          "mode"            = "non-blocking"
          "max-buffer-size" = "4m"
        }
      }
    },
  ])

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.relay_stop_timeout >= var.relay_drain_grace_seconds + var.relay_drain_timeout_seconds
      error_message = "relay_drain_grace_seconds + relay_drain_timeout_seconds must fit in relay_stop_timeout (Fargate max 120 s), or ECS kills the relay mid-drain."
    }
  }
}

resource "aws_ecs_service" "relay" {
  name            = "${var.name}-relay"
  cluster         = aws_ecs_cluster.relay.id
  task_definition = aws_ecs_task_definition.relay.arn
  desired_count   = var.relay_min_count
  launch_type     = "FARGATE"

  # Rolling deploys never go below the current capacity: new tasks come up
  # (and pass /readyz) before old ones start draining.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # Room for the first /readyz passes before ECS counts health checks.
  health_check_grace_period_seconds = 30

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.relay.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.relay.arn
    container_name   = "relay"
    container_port   = local.relay_port
  }

  propagate_tags = "SERVICE"
  tags           = local.tags

  # Autoscaling owns the task count after creation.
  lifecycle {
    ignore_changes = [desired_count]
  }

  # The target group must be attached to the ALB (through the rule) first.
  depends_on = [aws_lb_listener_rule.relay]
}
