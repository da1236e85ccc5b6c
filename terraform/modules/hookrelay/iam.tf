# Least privilege: each role reads only the secrets its process uses.
# - relay execution role: ECS itself pulls the image, writes logs and
#   resolves the task's `secrets` (token key, API keys, Redis password).
# - relay task role: the relay process; only elasticache:Connect in iam mode.
# - one role per Lambda: VPC ENIs, its log group, its secrets, its queue.

locals {
  redis_connect_arns = var.redis_auth_mode == "iam" ? [
    aws_elasticache_replication_group.redis.arn,
    aws_elasticache_user.app[0].arn,
  ] : []
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "relay_execution" {
  name_prefix        = "${var.name}-relay-exec-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "relay_execution" {
  statement {
    sid       = "PullImage"
    actions   = ["ecr:GetAuthorizationToken", "ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = ["*"]
  }
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.relay.arn}:*"]
  }
  statement {
    sid       = "ReadRelaySecrets"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = concat([aws_secretsmanager_secret.token_key.arn, aws_secretsmanager_secret.api_keys.arn], local.redis_secret_arns)
  }
}

resource "aws_iam_role_policy" "relay_execution" {
  name   = "relay-execution"
  role   = aws_iam_role.relay_execution.id
  policy = data.aws_iam_policy_document.relay_execution.json
}

resource "aws_iam_role" "relay_task" {
  name_prefix        = "${var.name}-relay-task-"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "redis_connect" {
  count = var.redis_auth_mode == "iam" ? 1 : 0
  statement {
    sid       = "RedisIAMAuth"
    actions   = ["elasticache:Connect"]
    resources = local.redis_connect_arns
  }
}

resource "aws_iam_role_policy" "relay_task_redis" {
  count  = var.redis_auth_mode == "iam" ? 1 : 0
  name   = "redis-connect"
  role   = aws_iam_role.relay_task.id
  policy = data.aws_iam_policy_document.redis_connect[0].json
}

# --- Lambdas -------------------------------------------------------------------

locals {
  lambda_roles = {
    ingest = {
      log_group = aws_cloudwatch_log_group.ingest.arn
      secrets   = concat(local.redis_secret_arns, local.webhook_secret_arns)
    }
    publish = {
      log_group = aws_cloudwatch_log_group.publish.arn
      secrets   = local.redis_secret_arns
    }
  }
}

resource "aws_iam_role" "lambda" {
  for_each           = local.lambda_roles
  name_prefix        = "${var.name}-${each.key}-"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

data "aws_iam_policy_document" "lambda" {
  for_each = local.lambda_roles

  # What AWSLambdaVPCAccessExecutionRole grants, minus logs on every group.
  # ENI actions do not support resource-level scoping.
  statement {
    sid       = "VPCAccess"
    actions   = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"]
    resources = ["*"]
  }
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${each.value.log_group}:*"]
  }
  dynamic "statement" {
    for_each = length(each.value.secrets) > 0 ? [each.value.secrets] : []
    content {
      sid       = "ReadSecrets"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = statement.value
    }
  }
  dynamic "statement" {
    for_each = length(local.redis_connect_arns) > 0 ? [local.redis_connect_arns] : []
    content {
      sid       = "RedisIAMAuth"
      actions   = ["elasticache:Connect"]
      resources = statement.value
    }
  }
  dynamic "statement" {
    for_each = each.key == "publish" ? [aws_sqs_queue.publish.arn] : []
    content {
      sid       = "ConsumeQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  for_each = local.lambda_roles
  name     = "${each.key}-lambda"
  role     = aws_iam_role.lambda[each.key].id
  policy   = data.aws_iam_policy_document.lambda[each.key].json
}
