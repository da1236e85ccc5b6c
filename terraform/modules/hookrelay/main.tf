# hookrelay on AWS: an ALB in front of relay tasks on ECS Fargate (arm64),
# ElastiCache for Redis as the bus, and two Lambdas (webhook ingest and
# internal publish). One file per concern; names below are shared.

data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  tags = merge({ "app" = "hookrelay", "hookrelay:name" = var.name }, var.tags)

  region     = data.aws_region.current.region
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # The relay listens here (HOOKRELAY_ADDR); the ALB forwards to it.
  relay_port = 8080

  # /metrics is served here (HOOKRELAY_METRICS_ADDR), off the port the ALB
  # forwards to and not in any security group rule: only a collector in the
  # task (an ADOT or Prometheus sidecar scraping localhost) reaches it.
  metrics_port = 9090

  # Cluster mode is on when a shard count is given.
  redis_cluster_mode = var.redis_num_node_groups != null

  # With cluster mode the clients talk to the configuration endpoint.
  redis_host = local.redis_cluster_mode ? aws_elasticache_replication_group.redis.configuration_endpoint_address : aws_elasticache_replication_group.redis.primary_endpoint_address

  # No credentials in the URL: the password comes separately from Secrets
  # Manager (HOOKRELAY_REDIS_PASSWORD) so the URL is safe in plain env.
  redis_url = "rediss://${local.redis_host}:6379"

  # Lambda zips built by `make lambda` (.ci/lambda.sh).
  ingest_zip  = "${var.lambda_zip_dir}/ingest-arm64.zip"
  publish_zip = "${var.lambda_zip_dir}/publish-arm64.zip"
}
