# Every log group is created here with a retention, before anything writes
# to it (otherwise Lambda and ECS create groups that keep logs forever).

resource "aws_cloudwatch_log_group" "relay" {
  name              = "/hookrelay/${var.name}/relay"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "ingest" {
  name              = "/aws/lambda/${var.name}-ingest"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "publish" {
  name              = "/aws/lambda/${var.name}-publish"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}

resource "aws_cloudwatch_log_group" "api" {
  count             = var.ingest_api_gateway ? 1 : 0
  name              = "/hookrelay/${var.name}/ingest-api"
  retention_in_days = var.log_retention_days
  tags              = local.tags
}
