# The ALB holds the browsers' long-lived SSE and WebSocket connections.
# Its timings are tied to the relay's (checked by terraform/contract_test.go):
# idle_timeout well above HOOKRELAY_HEARTBEAT, deregistration_delay >=
# HOOKRELAY_DRAIN_GRACE + HOOKRELAY_DRAIN_TIMEOUT, health check on /readyz.

locals {
  relay_paths = ["/v1/*", "/hookrelay.js", "/hookrelay.global.js", "/hookrelay.d.ts"]
  demo_paths  = ["/", "/*.html", "/demo.js", "/style.css"]
}

resource "aws_lb" "relay" {
  name               = "${var.name}-alb"
  load_balancer_type = "application"
  internal           = false
  subnets            = var.public_subnet_ids
  security_groups    = [aws_security_group.alb.id]

  # No bytes for this long closes the connection: heartbeats keep SSE and
  # WebSocket streams above it. HTTP/2 PING frames do not count.
  idle_timeout               = var.alb_idle_timeout
  enable_http2               = true
  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection

  dynamic "access_logs" {
    for_each = var.alb_access_logs_bucket == null ? [] : [var.alb_access_logs_bucket]
    content {
      bucket  = access_logs.value
      prefix  = var.alb_access_logs_prefix
      enabled = true
    }
  }

  tags = local.tags
}

resource "aws_lb_target_group" "relay" {
  name        = "${var.name}-relay"
  port        = local.relay_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  # The drain window: the relay gets this long to hand its clients over.
  deregistration_delay = var.deregistration_delay

  # New connections spread evenly; long-lived streams make request counts
  # meaningless for balancing.
  load_balancing_algorithm_type = "least_outstanding_requests"

  # ECS replaces tasks this check reports unhealthy, and /readyz also fails
  # while Redis is unreachable or the relay is at HOOKRELAY_MAX_CONNECTIONS:
  # the threshold must ride out a Redis failover rather than kill every
  # relay (and drop every client) during one. See docs/deploy.md.
  health_check {
    enabled             = true
    path                = "/readyz"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = var.health_check_interval
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = var.health_check_unhealthy_threshold
  }

  # An optimisation only: resume works on any relay.
  stickiness {
    enabled         = true
    type            = "lb_cookie"
    cookie_duration = 86400
  }

  tags = local.tags

  # No create_before_destroy: the name is fixed, so a replacement must go
  # away first (changing port, protocol or target type is a maintenance).
  lifecycle {
    precondition {
      condition     = var.deregistration_delay >= var.relay_drain_grace_seconds + var.relay_drain_timeout_seconds
      error_message = "deregistration_delay must be >= relay_drain_grace_seconds + relay_drain_timeout_seconds, or the ALB cuts clients before the relay has closed them."
    }
    precondition {
      condition     = var.alb_idle_timeout >= 4 * var.relay_heartbeat_seconds
      error_message = "alb_idle_timeout must be at least four relay heartbeats, or a late heartbeat lets the ALB cut an idle stream."
    }
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.relay.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      port        = "443"
      protocol    = "HTTPS"
      status_code = "HTTP_301"
    }
  }

  tags = local.tags
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.relay.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  # Anything not routed below (health, metrics, unknown paths) is not
  # public: answer in the relay's error format.
  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "application/json"
      status_code  = "404"
      message_body = "{\"error\":{\"code\":\"not_found\",\"message\":\"no such route\",\"status\":404}}"
    }
  }

  tags = local.tags
}

resource "aws_lb_listener_rule" "relay" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.relay.arn
  }

  condition {
    path_pattern {
      values = local.relay_paths
    }
  }

  tags = local.tags
}

resource "aws_lb_listener_rule" "demo" {
  count        = var.serve_demo_pages ? 1 : 0
  listener_arn = aws_lb_listener.https.arn
  priority     = 20

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.relay.arn
  }

  condition {
    path_pattern {
      values = local.demo_paths
    }
  }

  tags = local.tags
}
