output "relay_url" {
  description = "Base URL for browsers (hookrelay.js) and publishers."
  value       = module.hookrelay.relay_url
}

output "alb_dns_name" {
  description = "Point public_hostname here."
  value       = module.hookrelay.alb_dns_name
}

output "webhook_urls" {
  description = "Give each provider its URL."
  value       = module.hookrelay.webhook_urls
}

output "secret_arns" {
  description = "Secrets to fill (webhooks) or read (token key, API keys)."
  value       = module.hookrelay.secret_arns
}

output "publish_queue_url" {
  description = "SQS queue for internal producers."
  value       = module.hookrelay.publish_queue_url
}

output "mint_token_command" {
  description = "Mint a subscriber token."
  value       = module.hookrelay.mint_token_command
}
