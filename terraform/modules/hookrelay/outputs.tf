output "relay_url" {
  description = "Public base URL of the relays (SSE /v1/sse, WebSocket /v1/ws, publish /v1/publish, /hookrelay.js)."
  value       = local.relay_url
}

output "alb_dns_name" {
  description = "Point public_hostname at this (CNAME or Route 53 alias)."
  value       = aws_lb.relay.dns_name
}

output "alb_zone_id" {
  description = "Route 53 zone id of the ALB, for an alias record."
  value       = aws_lb.relay.zone_id
}

output "webhook_urls" {
  description = "Per webhook source: the URL to give the provider (API Gateway if enabled, else the Function URL)."
  value       = { for s in var.webhook_sources : s => "${local.ingest_base_url}/hooks/${s}" }

  precondition {
    condition     = var.ingest_api_gateway || var.ingest_function_url || length(var.webhook_sources) == 0
    error_message = "Webhook sources need an entry point: set ingest_api_gateway or ingest_function_url."
  }
}

output "ingest_function_url" {
  description = "Function URL of the ingest Lambda (null unless ingest_function_url)."
  value       = var.ingest_function_url ? aws_lambda_function_url.ingest[0].function_url : null
}

output "publish_queue_url" {
  description = "SQS queue for internal producers (message body: a publish request)."
  value       = aws_sqs_queue.publish.url
}

output "publish_dlq_url" {
  description = "Dead-letter queue of the publish path."
  value       = aws_sqs_queue.publish_dlq.url
}

output "publish_function_name" {
  description = "The publish Lambda, for direct invokes."
  value       = aws_lambda_function.publish.function_name
}

output "redis_endpoint" {
  description = "Redis endpoint (rediss://, no credentials) the relays and Lambdas use."
  value       = local.redis_url
}

output "secret_arns" {
  description = "Secrets Manager ARNs: token key, API keys, Redis credentials (null in iam mode) and one per webhook source."
  value = {
    token_key = aws_secretsmanager_secret.token_key.arn
    api_keys  = aws_secretsmanager_secret.api_keys.arn
    redis     = one(local.redis_secret_arns)
    webhooks  = { for s, v in aws_secretsmanager_secret.webhook : s => v.arn }
  }
}

output "ecs_cluster_name" {
  description = "ECS cluster of the relays."
  value       = aws_ecs_cluster.relay.name
}

output "ecs_service_name" {
  description = "ECS service of the relays (aws ecs update-service --force-new-deployment rolls them)."
  value       = aws_ecs_service.relay.name
}

output "mint_token_command" {
  description = "Shell command that mints a subscriber token with the deployed key (`relay token`); edit the subject and topics (relay token -h lists the flags)."
  value       = "HOOKRELAY_TOKEN_KEY=\"$(aws secretsmanager get-secret-value --region ${local.region} --secret-id ${aws_secretsmanager_secret.token_key.arn} --query SecretString --output text)\" relay token --sub alice --topics 'order:1042' --ttl 1h"
}

locals {
  relay_url = "https://${coalesce(var.public_hostname, aws_lb.relay.dns_name)}"

  ingest_base_url = var.ingest_api_gateway ? aws_apigatewayv2_api.ingest[0].api_endpoint : (
    var.ingest_function_url ? trimsuffix(aws_lambda_function_url.ingest[0].function_url, "/") : ""
  )
}
