output "device_base_url" {
  description = "Where devices fetch manifests and bundles (the R2 custom domain)."
  value       = var.device_base_url
}

output "edge_url" {
  description = "Edge base URL for devices (GET /v1/check, /update/check, /api/firmware/check)."
  value       = module.edge.function_url
}

output "storage_environment" {
  description = "HOTPATCH_STORAGE / HOTPATCH_S3_ENDPOINT / AWS_REGION for the CLI in serverless mode (add an R2 token)."
  value       = module.bucket.environment
}

output "database_url_without_password" {
  description = "DATABASE_URL template for the database-url secret."
  value       = module.db.database_url_without_password
}

output "db_master_secret_arn" {
  description = "Secrets Manager secret RDS generated for the master user."
  value       = module.db.master_user_secret_arn
}

output "publisher_secret_arns" {
  description = "Secrets to fill before the publisher starts: database-url, jwt-secret, manifest-key, r2-credentials (JSON with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY of the read/write R2 token)."
  value       = { for k, s in aws_secretsmanager_secret.publisher : k => s.arn }
}

output "cloudflare_cache_rules" {
  description = "Cache rules to create on the R2 custom domain (Cloudflare dashboard or API)."
  value = {
    "/bundles/*"   = "eligible for cache; edge TTL 1 year (immutable, content-addressed)"
    "/manifests/*" = "eligible for cache; edge TTL: respect origin (Cache-Control: public, max-age=30)"
  }
}
