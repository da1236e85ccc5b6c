# Relay autoscaling: two target-tracking policies, whichever asks for more
# tasks wins.
# - CPU: ECSServiceAverageCPUUtilization (fan-out and TLS-free HTTP work).
# - Connections: open connections per task, computed with metric math as the
#   ALB's ActiveConnectionCount divided by the service's RunningTaskCount
#   (Container Insights). Memory per connection is the relay's real limit, and
#   neither CPU nor ALB request count (one request per long-lived stream)
#   follows it. ActiveConnectionCount counts client->ALB and ALB->target
#   connections of the whole ALB, so it is approximate: set the target from
#   docs/performance.md with headroom.
# Scale-in is slow on purpose: every removed task drains its clients.

resource "aws_appautoscaling_target" "relay" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.relay.name}/${aws_ecs_service.relay.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.relay_min_count
  max_capacity       = var.relay_max_count
}

resource "aws_appautoscaling_policy" "relay_cpu" {
  name               = "${var.name}-relay-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.relay.service_namespace
  resource_id        = aws_appautoscaling_target.relay.resource_id
  scalable_dimension = aws_appautoscaling_target.relay.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.relay_cpu_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 600

    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

resource "aws_appautoscaling_policy" "relay_connections" {
  name               = "${var.name}-relay-connections"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.relay.service_namespace
  resource_id        = aws_appautoscaling_target.relay.resource_id
  scalable_dimension = aws_appautoscaling_target.relay.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.relay_connections_per_task_target
    scale_out_cooldown = 60
    scale_in_cooldown  = 900

    customized_metric_specification {
      metrics {
        id          = "connections"
        label       = "ALB active connections"
        return_data = false

        metric_stat {
          stat = "Sum"
          metric {
            namespace   = "AWS/ApplicationELB"
            metric_name = "ActiveConnectionCount"
            dimensions {
              name  = "LoadBalancer"
              value = aws_lb.relay.arn_suffix
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        label       = "running relay tasks"
        return_data = false

        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.relay.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.relay.name
            }
          }
        }
      }

      metrics {
        id          = "per_task"
        label       = "connections per relay task"
        expression  = "connections / tasks"
        return_data = true
      }
    }
  }
}
