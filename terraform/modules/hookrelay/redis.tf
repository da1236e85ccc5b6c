# ElastiCache for Redis: TLS in transit, encrypted at rest, multi-AZ with
# automatic failover, optional cluster mode. Authentication is chosen by
# var.redis_auth_mode: a Redis AUTH token, an RBAC user with a password, or
# an RBAC user with IAM auth (both RBAC modes disable the default user).

locals {
  redis_rbac = var.redis_auth_mode != "auth_token"
  # IAM users must have user_name == user_id.
  redis_user_id   = "${var.name}-app"
  redis_user_name = var.redis_auth_mode == "iam" ? local.redis_user_id : "hookrelay"
}

resource "aws_elasticache_subnet_group" "redis" {
  name        = "${var.name}-redis"
  description = "hookrelay Redis subnets"
  subnet_ids  = var.private_subnet_ids
  tags        = local.tags
}

resource "aws_elasticache_parameter_group" "redis" {
  name        = "${var.name}-redis7-${local.redis_cluster_mode ? "cluster" : "single"}"
  family      = "redis7"
  description = "hookrelay: Redis 7, cluster mode ${local.redis_cluster_mode ? "on" : "off"}"
  tags        = local.tags

  # Keyspace notifications are not needed: the relay uses streams and
  # pub/sub only.
  parameter {
    name  = "cluster-enabled"
    value = local.redis_cluster_mode ? "yes" : "no"
  }

  lifecycle {
    create_before_destroy = true

    # Cluster mode: the relays publish with SPUBLISH and subscribe with
    # SSUBSCRIBE (sharded pub/sub, one connection per shard), so each
    # publish reaches only its own shard; Redis OSS 6 has neither.
    precondition {
      condition     = !local.redis_cluster_mode || can(regex("^[7-9]", var.redis_engine_version))
      error_message = "Cluster mode uses sharded pub/sub (SPUBLISH/SSUBSCRIBE), which needs Redis OSS 7 or later: set redis_engine_version to 7.x."
    }
  }
}

resource "random_password" "redis" {
  # AUTH tokens allow 16-128 printable characters but not @, " or /; plain
  # alphanumerics avoid every quoting problem in URLs and env files.
  length  = 64
  special = false
}

resource "random_password" "redis_default_user" {
  count   = local.redis_rbac ? 1 : 0
  length  = 64
  special = false
}

# Every user group must contain a user named "default"; this one is
# switched off so only the hookrelay user can connect.
resource "aws_elasticache_user" "default" {
  count         = local.redis_rbac ? 1 : 0
  user_id       = "${var.name}-default"
  user_name     = "default"
  engine        = "REDIS"
  access_string = "off -@all"

  authentication_mode {
    type      = "password"
    passwords = [random_password.redis_default_user[0].result]
  }

  tags = local.tags
}

resource "aws_elasticache_user" "app" {
  count     = local.redis_rbac ? 1 : 0
  user_id   = local.redis_user_id
  user_name = local.redis_user_name
  engine    = "REDIS"
  # All keys and channels (hash-tagged hr:{topic}:... keys, per-topic
  # channels), every command except the ones that wipe or reconfigure.
  access_string = "on ~* &* +@all -flushall -flushdb -config -debug -shutdown"

  authentication_mode {
    type      = var.redis_auth_mode == "iam" ? "iam" : "password"
    passwords = var.redis_auth_mode == "iam" ? null : [random_password.redis.result]
  }

  tags = local.tags
}

resource "aws_elasticache_user_group" "redis" {
  count         = local.redis_rbac ? 1 : 0
  user_group_id = "${var.name}-users"
  engine        = "REDIS"
  user_ids      = [aws_elasticache_user.default[0].user_id, aws_elasticache_user.app[0].user_id]
  tags          = local.tags
}

resource "aws_elasticache_replication_group" "redis" {
  replication_group_id = "${var.name}-redis"
  description          = "hookrelay bus (streams + pub/sub)"
  engine               = "redis"
  engine_version       = var.redis_engine_version
  node_type            = var.redis_node_type
  port                 = 6379
  parameter_group_name = aws_elasticache_parameter_group.redis.name
  subnet_group_name    = aws_elasticache_subnet_group.redis.name
  security_group_ids   = [aws_security_group.redis.id]

  automatic_failover_enabled = true
  multi_az_enabled           = true

  # Cluster mode off: one shard of 1 primary + replicas. On: num_node_groups
  # shards; keys carry the topic as a hash tag so they never span slots.
  num_cache_clusters      = local.redis_cluster_mode ? null : 1 + var.redis_replicas_per_node_group
  num_node_groups         = local.redis_cluster_mode ? var.redis_num_node_groups : null
  replicas_per_node_group = local.redis_cluster_mode ? var.redis_replicas_per_node_group : null

  at_rest_encryption_enabled = true
  kms_key_id                 = var.redis_kms_key_arn
  transit_encryption_enabled = true

  auth_token                 = var.redis_auth_mode == "auth_token" ? random_password.redis.result : null
  auth_token_update_strategy = var.redis_auth_mode == "auth_token" ? "ROTATE" : null
  user_group_ids             = local.redis_rbac ? [aws_elasticache_user_group.redis[0].user_group_id] : null

  snapshot_retention_limit   = var.redis_snapshot_retention_days
  auto_minor_version_upgrade = true
  apply_immediately          = false

  tags = local.tags
}
