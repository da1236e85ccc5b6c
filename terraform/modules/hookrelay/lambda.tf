# The two Lambdas, built by `make lambda` (.ci/lambda.sh): a `bootstrap`
# binary for provided.al2023 on arm64, zipped as build/lambda/<fn>-arm64.zip
# with fixed timestamps so source_code_hash changes only with the code.
# Both run in the VPC to reach Redis.

locals {
  lambda_environment = merge(
    {
      REDIS_URL               = local.redis_url
      HOOKRELAY_REDIS_CLUSTER = tostring(local.redis_cluster_mode)
      HOOKRELAY_LOG_LEVEL     = var.relay_log_level
      HOOKRELAY_LOG_FORMAT    = "json"
    },
    # Lambda has no `secrets` like ECS: the config loader resolves this
    # aws-sm:// reference at start with the function's role.
    { for arn in local.redis_secret_arns : "HOOKRELAY_REDIS_PASSWORD" => "aws-sm://${arn}#password" },
    { for e in local.redis_client_environment : e.name => e.value },
  )
}

# The webhook sources (providers, rules, aws-sm:// secret references) ship
# as a layer: Lambda mounts it at /opt, so HOOKRELAY_CONFIG=/opt/hookrelay.yaml.
data "archive_file" "webhook_config" {
  type        = "zip"
  output_path = "${path.root}/.terraform/hookrelay/${var.name}-webhook-config.zip"

  source {
    content  = file(var.webhook_config_file)
    filename = "hookrelay.yaml"
  }
}

resource "aws_lambda_layer_version" "webhook_config" {
  layer_name               = "${var.name}-webhook-config"
  description              = "hookrelay webhook sources (/opt/hookrelay.yaml)"
  filename                 = data.archive_file.webhook_config.output_path
  source_code_hash         = data.archive_file.webhook_config.output_base64sha256
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = ["arm64"]
}

resource "aws_lambda_function" "ingest" {
  function_name    = "${var.name}-ingest"
  description      = "hookrelay webhook ingest: POST /hooks/{source} -> verify, map, publish to Redis"
  role             = aws_iam_role.lambda["ingest"].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  filename         = local.ingest_zip
  source_code_hash = filebase64sha256(local.ingest_zip)
  memory_size      = var.lambda_memory
  timeout          = var.ingest_timeout
  layers           = [aws_lambda_layer_version.webhook_config.arn]

  reserved_concurrent_executions = var.ingest_reserved_concurrency

  environment {
    variables = merge(local.lambda_environment, { HOOKRELAY_CONFIG = "/opt/hookrelay.yaml" })
  }

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.ingest.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.lambda]
}

resource "aws_lambda_function" "publish" {
  function_name    = "${var.name}-publish"
  description      = "hookrelay publish: EventBridge / SQS / direct invoke -> Redis"
  role             = aws_iam_role.lambda["publish"].arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = ["arm64"]
  filename         = local.publish_zip
  source_code_hash = filebase64sha256(local.publish_zip)
  memory_size      = var.lambda_memory
  timeout          = var.publish_timeout

  reserved_concurrent_executions = var.publish_reserved_concurrency

  environment {
    variables = local.lambda_environment
  }

  vpc_config {
    subnet_ids         = var.private_subnet_ids
    security_group_ids = [aws_security_group.lambda.id]
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.publish.name
  }

  tags       = local.tags
  depends_on = [aws_iam_role_policy.lambda]
}

# --- ingest: API Gateway HTTP API and/or Function URL ------------------------

resource "aws_apigatewayv2_api" "ingest" {
  count         = var.ingest_api_gateway ? 1 : 0
  name          = "${var.name}-ingest"
  protocol_type = "HTTP"
  description   = "hookrelay webhooks: POST /hooks/{source}"
  tags          = local.tags
}

resource "aws_apigatewayv2_integration" "ingest" {
  count                  = var.ingest_api_gateway ? 1 : 0
  api_id                 = aws_apigatewayv2_api.ingest[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.ingest.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = var.ingest_timeout * 1000 + 1000
}

resource "aws_apigatewayv2_route" "ingest" {
  count     = var.ingest_api_gateway ? 1 : 0
  api_id    = aws_apigatewayv2_api.ingest[0].id
  route_key = "POST /hooks/{source}"
  target    = "integrations/${aws_apigatewayv2_integration.ingest[0].id}"
}

resource "aws_apigatewayv2_stage" "ingest" {
  count       = var.ingest_api_gateway ? 1 : 0
  api_id      = aws_apigatewayv2_api.ingest[0].id
  name        = "$default"
  auto_deploy = true

  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api[0].arn
    format = jsonencode({
      requestId = "$context.requestId"
      ip        = "$context.identity.sourceIp"
      route     = "$context.routeKey"
      path      = "$context.path"
      status    = "$context.status"
      latency   = "$context.integrationLatency"
      error     = "$context.integrationErrorMessage"
    })
  }

  tags = local.tags
}

resource "aws_lambda_permission" "ingest_api" {
  count         = var.ingest_api_gateway ? 1 : 0
  statement_id  = "AllowHTTPAPI"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.ingest.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.ingest[0].execution_arn}/*/*/hooks/*"
}

resource "aws_lambda_function_url" "ingest" {
  count              = var.ingest_function_url ? 1 : 0
  function_name      = aws_lambda_function.ingest.function_name
  authorization_type = "NONE" # webhook signatures authenticate each delivery
}

# A public (NONE) Function URL answers 403 unless the function's policy
# grants both lambda:InvokeFunctionUrl and lambda:InvokeFunction to
# everyone; only the console adds them, the API and Terraform do not.
resource "aws_lambda_permission" "ingest_url" {
  count                  = var.ingest_function_url ? 1 : 0
  statement_id           = "AllowPublicFunctionURL"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.ingest.function_name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# The second grant cannot be limited to calls through the URL before aws
# provider 6.x's invoked_via_function_url (not in every 6.x this module
# allows), so any AWS principal may also invoke the function directly. That
# gives nothing the URL does not: each delivery is still verified by its
# webhook signature (docs/security.md).
resource "aws_lambda_permission" "ingest_url_invoke" {
  count         = var.ingest_function_url ? 1 : 0
  statement_id  = "AllowPublicFunctionURLInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.ingest.function_name
  principal     = "*"
}

# --- publish: EventBridge rule and SQS queue -----------------------------------

resource "aws_cloudwatch_event_rule" "publish" {
  name           = "${var.name}-publish"
  description    = "hookrelay: events for the publish Lambda"
  event_bus_name = var.publish_event_bus_name
  event_pattern  = var.publish_event_pattern
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "publish" {
  rule           = aws_cloudwatch_event_rule.publish.name
  event_bus_name = var.publish_event_bus_name
  target_id      = "publish-lambda"
  arn            = aws_lambda_function.publish.arn

  # Failed async invocations land in the same dead-letter queue.
  dead_letter_config {
    arn = aws_sqs_queue.publish_dlq.arn
  }

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 10
  }
}

resource "aws_lambda_permission" "publish_events" {
  statement_id  = "AllowEventBridge"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.publish.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.publish.arn
}

resource "aws_sqs_queue" "publish_dlq" {
  name                      = "${var.name}-publish-dlq"
  message_retention_seconds = 1209600 # 14 days to inspect and redrive
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

resource "aws_sqs_queue" "publish" {
  name = "${var.name}-publish"
  # Six times the function timeout (AWS guidance for Lambda sources), so a
  # batch in flight is never handed to a second invocation.
  visibility_timeout_seconds = var.publish_timeout * 6
  sqs_managed_sse_enabled    = true

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.publish_dlq.arn
    maxReceiveCount     = var.publish_sqs_max_receive_count
  })

  tags = local.tags
}

data "aws_iam_policy_document" "publish_dlq" {
  statement {
    sid       = "EventBridgeDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.publish_dlq.arn]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.publish.arn]
    }
  }
}

resource "aws_sqs_queue_policy" "publish_dlq" {
  queue_url = aws_sqs_queue.publish_dlq.id
  policy    = data.aws_iam_policy_document.publish_dlq.json
}

resource "aws_lambda_event_source_mapping" "publish" {
  event_source_arn = aws_sqs_queue.publish.arn
  function_name    = aws_lambda_function.publish.arn
  batch_size       = var.publish_sqs_batch_size

  # The function reports the messages that failed; only those are retried.
  function_response_types = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = max(2, var.publish_reserved_concurrency == -1 ? 50 : var.publish_reserved_concurrency)
  }
}
