variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "environment" {
  description = "Environment name, used in resource names and tags."
  type        = string
  default     = "prod"
}

variable "vpc_id" {
  description = "Existing VPC (private subnets need outbound HTTPS: a NAT gateway or VPC endpoints)."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets for the ALB (two or more AZs)."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Private subnets for relays, Lambdas and Redis (two or more AZs)."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate covering public_hostname."
  type        = string
}

variable "public_hostname" {
  description = "Host name of the relays, e.g. push.example.com."
  type        = string
}

variable "relay_image" {
  description = "Relay image pushed by `docker buildx build --platform linux/arm64 -f relay/Dockerfile`."
  type        = string
}

variable "allowed_origins" {
  description = "Browser origins of your app."
  type        = list(string)
}

variable "webhook_sources" {
  description = "Webhook sources configured in hookrelay.yaml."
  type        = list(string)
  default     = ["shopify", "alertmanager"]
}

variable "alarm_email" {
  description = "E-mail subscribed to the alarm topic (confirm the subscription mail); null for none."
  type        = string
  default     = null
}

variable "redis_auth_mode" {
  description = "auth_token, rbac or iam."
  type        = string
  default     = "auth_token"
}

variable "redis_num_node_groups" {
  description = "Shards for Redis cluster mode; null = cluster mode off."
  type        = number
  default     = null
}
