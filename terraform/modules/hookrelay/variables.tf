# Inputs of the hookrelay module. Defaults are production-leaning; every
# timing default is tied to a relay setting and checked by
# terraform/contract_test.go (see docs/deploy.md).

variable "name" {
  description = "Name prefix for every resource (letters, digits and dashes)."
  type        = string
  default     = "hookrelay"

  # ElastiCache ids built from it (<name>-redis, -users, -app, -default)
  # must not hold "--" or end with "-"; ALB names are at most 32 characters.
  validation {
    condition     = can(regex("^[a-z](-?[a-z0-9])+$", var.name)) && length(var.name) <= 21
    error_message = "name must be 2-21 lower-case letters, digits or single dashes, starting with a letter and not ending with a dash (it prefixes ElastiCache and ALB names, which are short and forbid \"--\" and a trailing dash)."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}

# --- network ---------------------------------------------------------------

variable "vpc_id" {
  description = "VPC that holds the relays, the Lambdas and Redis."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing ALB (at least two AZs)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "public_subnet_ids needs at least two subnets in different AZs (an ALB requirement)."
  }
}

variable "private_subnet_ids" {
  description = "Subnets of the relay tasks, the Lambdas and Redis (at least two AZs; outbound HTTPS through a NAT gateway or VPC endpoints for ECR, Secrets Manager, CloudWatch Logs)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "private_subnet_ids needs at least two subnets in different AZs (multi-AZ Redis and relays)."
  }
}

variable "alb_ingress_cidrs" {
  description = "CIDR blocks allowed to reach the ALB on 80 and 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

# --- load balancer ------------------------------------------------------------

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener (in the ALB's region)."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "alb_idle_timeout" {
  description = "Seconds the ALB keeps a connection open with no bytes flowing. Must stay well above the relay heartbeat (HOOKRELAY_HEARTBEAT, 15 s) or idle SSE streams are cut; 120 s leaves room for a missed heartbeat and a slow client."
  type        = number
  default     = 120

  validation {
    condition     = var.alb_idle_timeout >= 60 && var.alb_idle_timeout <= 4000
    error_message = "alb_idle_timeout must be between 60 and 4000 seconds (ALB limits; below 60 s leaves too little room above the heartbeat)."
  }
}

variable "deregistration_delay" {
  description = "Seconds the ALB keeps serving a deregistering relay's open connections (the drain window). Must be >= relay_drain_grace + relay_drain_timeout; the relay is told the same value in HOOKRELAY_DEREGISTRATION_DELAY."
  type        = number
  default     = 300

  validation {
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds (ALB limits)."
  }
}

variable "health_check_interval" {
  description = "Seconds between ALB health checks of /readyz."
  type        = number
  default     = 10
}

variable "health_check_unhealthy_threshold" {
  description = "Failed /readyz checks before a relay is unhealthy. ECS replaces unhealthy tasks, and /readyz fails while Redis is unreachable, so interval x threshold (30 s) should outlast a typical ElastiCache failover."
  type        = number
  default     = 3
}

variable "alb_deletion_protection" {
  description = "Protect the ALB from deletion (turn off before terraform destroy)."
  type        = bool
  default     = true
}

variable "alb_access_logs_bucket" {
  description = "S3 bucket for ALB access logs; null turns access logs off. The bucket policy must allow the regional ELB account to write."
  type        = string
  default     = null
}

variable "alb_access_logs_prefix" {
  description = "Key prefix of ALB access logs in alb_access_logs_bucket."
  type        = string
  default     = "hookrelay-alb"
}

variable "serve_demo_pages" {
  description = "Also route the demo pages (/, /*.html, /demo.js, /style.css) to the relays. Off in production."
  type        = bool
  default     = false
}

# --- relay (ECS Fargate) -----------------------------------------------------

variable "relay_image" {
  description = "Relay container image (built from relay/Dockerfile for linux/arm64), e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/hookrelay-relay:v1.2.3."
  type        = string
}

variable "relay_cpu" {
  description = "Fargate task CPU units (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "relay_memory" {
  description = "Fargate task memory in MiB."
  type        = number
  default     = 2048
}

variable "relay_min_count" {
  description = "Fewest relay tasks (autoscaling floor; also the initial desired count)."
  type        = number
  default     = 2
}

variable "relay_max_count" {
  description = "Most relay tasks (autoscaling ceiling)."
  type        = number
  default     = 20
}

variable "relay_cpu_target" {
  description = "Average relay CPU utilisation (percent) the CPU scaling policy keeps."
  type        = number
  default     = 60
}

variable "relay_connections_per_task_target" {
  description = "Open client connections per relay task the connection scaling policy keeps (ALB ActiveConnectionCount / running tasks). Size it from the measured memory per connection (docs/performance.md) and relay_memory."
  type        = number
  default     = 20000
}

variable "relay_max_connections" {
  description = "HOOKRELAY_MAX_CONNECTIONS: hard cap per task; /readyz fails above it so the ALB routes elsewhere."
  type        = number
  default     = 50000
}

variable "relay_allowed_origins" {
  description = "HOOKRELAY_ALLOWED_ORIGINS: browser origins allowed to connect (https://app.example.com)."
  type        = list(string)
  default     = []
}

variable "relay_heartbeat_seconds" {
  description = "HOOKRELAY_HEARTBEAT in seconds; must stay well below alb_idle_timeout."
  type        = number
  default     = 15
}

variable "relay_drain_grace_seconds" {
  description = "HOOKRELAY_DRAIN_GRACE in seconds: how long /readyz fails after SIGTERM before clients are closed."
  type        = number
  default     = 15
}

variable "relay_drain_timeout_seconds" {
  description = "HOOKRELAY_DRAIN_TIMEOUT in seconds: how long the relay spreads client closes over. On Fargate grace + timeout must fit in the 120 s stopTimeout, hence 100 s (not the relay's 240 s default)."
  type        = number
  default     = 100
}

variable "relay_stop_timeout" {
  description = "ECS stopTimeout (seconds between SIGTERM and SIGKILL). Fargate allows at most 120."
  type        = number
  default     = 120

  validation {
    condition     = var.relay_stop_timeout >= 2 && var.relay_stop_timeout <= 120
    error_message = "relay_stop_timeout must be between 2 and 120 seconds (Fargate's maximum is 120)."
  }
}

variable "relay_log_level" {
  description = "HOOKRELAY_LOG_LEVEL of the relays and Lambdas."
  type        = string
  default     = "info"
}

variable "api_key_names" {
  description = "Names of the publish API keys the module generates into the api-keys secret (HOOKRELAY_API_KEYS name:key,...)."
  type        = list(string)
  default     = ["default"]
}

# --- Redis (ElastiCache) -----------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.r7g.large"
}

variable "redis_engine_version" {
  description = "Redis OSS engine version (7.x: parameter group family redis7)."
  type        = string
  default     = "7.1"
}

variable "redis_auth_mode" {
  description = "How clients authenticate to Redis: auth_token (a Redis AUTH password from Secrets Manager), rbac (an ElastiCache RBAC user with a password from Secrets Manager) or iam (an RBAC user with IAM auth tokens; the relay re-authenticates on a timer)."
  type        = string
  default     = "auth_token"

  validation {
    condition     = contains(["auth_token", "rbac", "iam"], var.redis_auth_mode)
    error_message = "redis_auth_mode must be auth_token, rbac or iam."
  }
}

variable "redis_num_node_groups" {
  description = "Shards for cluster mode; null keeps cluster mode disabled (one primary + replicas). See docs/deploy.md for when to turn it on."
  type        = number
  default     = null
}

variable "redis_replicas_per_node_group" {
  description = "Replicas per shard (>= 1 for automatic failover and multi-AZ)."
  type        = number
  default     = 1

  validation {
    condition     = var.redis_replicas_per_node_group >= 1 && var.redis_replicas_per_node_group <= 5
    error_message = "redis_replicas_per_node_group must be 1-5: automatic failover needs at least one replica."
  }
}

variable "redis_snapshot_retention_days" {
  description = "Days of automatic Redis snapshots (0 turns them off)."
  type        = number
  default     = 1
}

variable "redis_kms_key_arn" {
  description = "KMS key for Redis at-rest encryption; null uses the AWS managed key."
  type        = string
  default     = null
}

# --- Lambdas -------------------------------------------------------------------

variable "lambda_zip_dir" {
  description = "Directory holding the zips from `make lambda` (<function>-arm64.zip)."
  type        = string
  default     = "build/lambda"
}

variable "webhook_sources" {
  description = "Webhook source names (POST /hooks/{source}); one Secrets Manager secret is created per source, referenced from the config file as aws-sm://<name>/webhooks/<source>."
  type        = list(string)
  default     = []
}

variable "webhook_config_file" {
  description = "Path of the hookrelay YAML config with the `sources:` (providers, rules, secrets as aws-sm:// references); shipped to the ingest Lambda in a layer at /opt/hookrelay.yaml."
  type        = string
}

variable "ingest_api_gateway" {
  description = "Expose the ingest Lambda through an API Gateway HTTP API route POST /hooks/{source}."
  type        = bool
  default     = true
}

variable "ingest_function_url" {
  description = "Also give the ingest Lambda a public Function URL (auth NONE: webhook signatures authenticate)."
  type        = bool
  default     = false
}

variable "ingest_reserved_concurrency" {
  description = "Reserved concurrency of the ingest Lambda (-1 = unreserved). Caps the Redis connections webhook bursts can open."
  type        = number
  default     = 50
}

variable "publish_reserved_concurrency" {
  description = "Reserved concurrency of the publish Lambda (-1 = unreserved)."
  type        = number
  default     = 20
}

variable "ingest_timeout" {
  description = "Ingest Lambda timeout in seconds (providers give up after ~10-30 s)."
  type        = number
  default     = 10

  validation {
    condition     = var.ingest_timeout >= 1 && var.ingest_timeout <= 29
    error_message = "ingest_timeout must be 1-29 seconds: API Gateway HTTP API integrations time out at 30 s."
  }
}

variable "publish_timeout" {
  description = "Publish Lambda timeout in seconds; the SQS visibility timeout is six times this."
  type        = number
  default     = 30
}

variable "lambda_memory" {
  description = "Memory of both Lambdas in MB (CPU scales with it)."
  type        = number
  default     = 256
}

variable "publish_event_pattern" {
  description = "EventBridge pattern of the events the publish Lambda receives."
  type        = string
  default     = "{\"detail-type\":[\"hookrelay.publish\"]}"
}

variable "publish_event_bus_name" {
  description = "EventBridge bus the publish rule listens on."
  type        = string
  default     = "default"
}

variable "publish_sqs_batch_size" {
  description = "Messages per publish Lambda invocation from SQS."
  type        = number
  default     = 10
}

variable "publish_sqs_max_receive_count" {
  description = "Receives before an SQS message moves to the dead-letter queue."
  type        = number
  default     = 5
}

# --- logs and alarms -----------------------------------------------------------

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group the module creates."
  type        = number
  default     = 30
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified by every alarm (ALARM and OK); null creates the alarms without actions."
  type        = string
  default     = null
}

variable "alarm_5xx_threshold" {
  description = "5xx responses per 5 minutes (ALB-generated or from relays) that raise an alarm."
  type        = number
  default     = 25
}

variable "alarm_relay_cpu_threshold" {
  description = "Average relay CPU percent that raises an alarm."
  type        = number
  default     = 80
}

variable "alarm_redis_memory_threshold" {
  description = "ElastiCache DatabaseMemoryUsagePercentage that raises an alarm."
  type        = number
  default     = 75
}

variable "public_hostname" {
  description = "Host name clients use (the ACM certificate's name, pointed at the ALB by your DNS); null uses the ALB's DNS name in outputs."
  type        = string
  default     = null
}
