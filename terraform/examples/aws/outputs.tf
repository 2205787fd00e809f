output "device_base_url" {
  description = "Base URL devices resolve bundle_url and manifests against (hotpatch-agent --manifest-base / --bundle-base)."
  value       = module.cdn.base_url
}

output "check_url" {
  description = "Edge check endpoint through the CDN (hotpatch-agent --edge takes the base URL)."
  value       = module.cdn.check_url
}

output "cdn_distribution_id" {
  description = "CloudFront distribution id."
  value       = module.cdn.distribution_id
}

output "storage_url" {
  description = "HOTPATCH_STORAGE for the publisher and the CLI in serverless mode."
  value       = module.bucket.storage_url
}

output "database_url_without_password" {
  description = "DATABASE_URL template; combine with the password from db_master_secret_arn and store it in the database-url secret."
  value       = module.db.database_url_without_password
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret RDS generated for the master user."
  value       = module.db.master_user_secret_arn
}

output "publisher_secret_arns" {
  description = "Secrets to fill before the publisher can start (database-url, jwt-secret, manifest-key)."
  value       = { for k, s in aws_secretsmanager_secret.publisher : k => s.arn }
}

output "publisher_service" {
  description = "ECS cluster and service of the publisher."
  value       = { cluster = module.publisher.cluster_arn, service = module.publisher.service_name }
}

output "edge_function_name" {
  description = "Lambda function of the edge."
  value       = module.edge.function_name
}
