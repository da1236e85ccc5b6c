# Secrets Manager holds every secret. Generated values (token key, API keys,
# Redis password) live in the Terraform state too: keep the state encrypted
# and access-controlled. Webhook secrets are filled in by the operator
# (docs/deploy.md) and never touched by Terraform after creation.

resource "random_password" "token_key" {
  # HS256 key: the relay requires >= 32 bytes.
  length  = 64
  special = false
}

resource "aws_secretsmanager_secret" "token_key" {
  name        = "${var.name}/token-key"
  description = "hookrelay HOOKRELAY_TOKEN_KEY: HS256 key(s) for subscriber tokens, comma-separated, the first signs"
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "token_key" {
  secret_id     = aws_secretsmanager_secret.token_key.id
  secret_string = random_password.token_key.result

  # Rotation adds a key in front by hand (new,old); Terraform must not undo it.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "random_password" "api_key" {
  for_each = toset(var.api_key_names)
  length   = 48
  special  = false
}

resource "aws_secretsmanager_secret" "api_keys" {
  name        = "${var.name}/api-keys"
  description = "hookrelay HOOKRELAY_API_KEYS: name:key,... for POST /v1/publish"
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "api_keys" {
  secret_id     = aws_secretsmanager_secret.api_keys.id
  secret_string = join(",", [for n in var.api_key_names : "${n}:${random_password.api_key[n].result}"])
}

resource "aws_secretsmanager_secret" "redis" {
  count       = var.redis_auth_mode == "iam" ? 0 : 1
  name        = "${var.name}/redis"
  description = "hookrelay Redis credentials: JSON {username, password}"
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "redis" {
  count     = var.redis_auth_mode == "iam" ? 0 : 1
  secret_id = aws_secretsmanager_secret.redis[0].id
  secret_string = jsonencode({
    username = var.redis_auth_mode == "rbac" ? local.redis_user_name : ""
    password = random_password.redis.result
  })
}

resource "aws_secretsmanager_secret" "webhook" {
  for_each    = toset(var.webhook_sources)
  name        = "${var.name}/webhooks/${each.value}"
  description = "hookrelay webhook secret(s) of source ${each.value}; referenced as aws-sm://${var.name}/webhooks/${each.value}"
  tags        = local.tags
}

resource "aws_secretsmanager_secret_version" "webhook" {
  for_each      = aws_secretsmanager_secret.webhook
  secret_id     = each.value.id
  secret_string = "REPLACE_ME"

  # The operator puts the provider's signing secret here after apply.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

locals {
  # The relay and the Lambdas read exactly these secrets, nothing else.
  redis_secret_arns   = aws_secretsmanager_secret.redis[*].arn
  webhook_secret_arns = [for s in aws_secretsmanager_secret.webhook : s.arn]
}
