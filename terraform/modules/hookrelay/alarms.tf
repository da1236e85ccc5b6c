# Alarms notify var.alarm_sns_topic_arn (ALARM and OK). Missing data is
# "not breaching": no traffic is not an outage.

locals {
  alarm_actions = var.alarm_sns_topic_arn == null ? [] : [var.alarm_sns_topic_arn]

  # ElastiCache names member clusters <group>-NNN (cluster mode off) or
  # <group>-SSSS-NNN (on); computed here so for_each keys are known at plan.
  redis_member_ids = local.redis_cluster_mode ? flatten([
    for s in range(1, var.redis_num_node_groups + 1) : [
      for n in range(1, var.redis_replicas_per_node_group + 2) : format("%s-%04d-%03d", "${var.name}-redis", s, n)
    ]
    ]) : [
    for n in range(1, var.redis_replicas_per_node_group + 2) : format("%s-%03d", "${var.name}-redis", n)
  ]

  lambda_functions = {
    ingest  = aws_lambda_function.ingest.function_name
    publish = aws_lambda_function.publish.function_name
  }
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  alarm_name          = "${var.name}-alb-5xx"
  alarm_description   = "The ALB itself answered 5xx (no healthy relay, relay reset, timeouts)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_ELB_5XX_Count"
  dimensions          = { LoadBalancer = aws_lb.relay.arn_suffix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarm_5xx_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "target_5xx" {
  alarm_name          = "${var.name}-relay-5xx"
  alarm_description   = "Relays answered 5xx (bus unavailable, over capacity, internal errors)."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HTTPCode_Target_5XX_Count"
  dimensions          = { LoadBalancer = aws_lb.relay.arn_suffix, TargetGroup = aws_lb_target_group.relay.arn_suffix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.alarm_5xx_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "relay_unhealthy" {
  alarm_name          = "${var.name}-relay-no-healthy-targets"
  alarm_description   = "No relay passes /readyz: clients cannot connect."
  namespace           = "AWS/ApplicationELB"
  metric_name         = "HealthyHostCount"
  dimensions          = { LoadBalancer = aws_lb.relay.arn_suffix, TargetGroup = aws_lb_target_group.relay.arn_suffix }
  statistic           = "Minimum"
  period              = 60
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "relay_cpu" {
  alarm_name          = "${var.name}-relay-cpu"
  alarm_description   = "Relay CPU stays high although autoscaling should add tasks (at max count?)."
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = { ClusterName = aws_ecs_cluster.relay.name, ServiceName = aws_ecs_service.relay.name }
  statistic           = "Average"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.alarm_relay_cpu_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "redis_memory" {
  for_each            = toset(local.redis_member_ids)
  alarm_name          = "${each.value}-memory"
  alarm_description   = "Redis memory use is high: history (HOOKRELAY_HISTORY_LEN/TTL) or dedup keys outgrow the node; evictions would lose history."
  namespace           = "AWS/ElastiCache"
  metric_name         = "DatabaseMemoryUsagePercentage"
  dimensions          = { CacheClusterId = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  threshold           = var.alarm_redis_memory_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
  depends_on          = [aws_elasticache_replication_group.redis]
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each            = local.lambda_functions
  alarm_name          = "${var.name}-${each.key}-errors"
  alarm_description   = "The ${each.key} Lambda failed invocations (Redis unreachable, bad config, crashes)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  for_each            = local.lambda_functions
  alarm_name          = "${var.name}-${each.key}-throttles"
  alarm_description   = "The ${each.key} Lambda hit its reserved concurrency: senders are retried or queued."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "publish_dlq" {
  alarm_name          = "${var.name}-publish-dlq"
  alarm_description   = "Events reached the publish dead-letter queue: inspect and redrive."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.publish_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
  tags                = local.tags
}
