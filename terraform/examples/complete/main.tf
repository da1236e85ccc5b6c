# A complete hookrelay deployment into an existing VPC: relays on Fargate
# behind an HTTPS ALB, ElastiCache Redis, webhook and publish Lambdas, and an
# SNS topic for the alarms. See docs/deploy.md for the full walk-through.

resource "aws_sns_topic" "alarms" {
  name = "hookrelay-${var.environment}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == null ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

module "hookrelay" {
  source = "../../modules/hookrelay"

  name = "hookrelay-${var.environment}"

  vpc_id             = var.vpc_id
  public_subnet_ids  = var.public_subnet_ids
  private_subnet_ids = var.private_subnet_ids

  certificate_arn = var.certificate_arn
  public_hostname = var.public_hostname

  relay_image           = var.relay_image
  relay_allowed_origins = var.allowed_origins
  relay_min_count       = 2
  relay_max_count       = 20

  # Fargate's stopTimeout is at most 120 s: 15 s grace + 100 s drain fits.
  relay_stop_timeout          = 120
  relay_drain_grace_seconds   = 15
  relay_drain_timeout_seconds = 100
  deregistration_delay        = 300
  alb_idle_timeout            = 120

  redis_auth_mode       = var.redis_auth_mode
  redis_num_node_groups = var.redis_num_node_groups

  # Built by `make lambda` at the repository root.
  lambda_zip_dir      = "${path.root}/../../../build/lambda"
  webhook_sources     = var.webhook_sources
  webhook_config_file = "${path.root}/hookrelay.yaml"

  alarm_sns_topic_arn = aws_sns_topic.alarms.arn
}
