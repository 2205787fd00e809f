# HotPatch with Cloudflare R2 storage and AWS compute:
#
#   devices ──HTTPS──> Cloudflare (R2 custom domain, cache rules) ──> R2 bucket
#   devices ──HTTPS──> edge Lambda Function URL (reads manifests/ from R2 with a read-only token)
#   CI / developers ──> publisher (ECS Fargate) ──> RDS Postgres 15
#                                              └──> R2 bundles/ + manifests/ (read/write token)
#
# The aws provider cannot create R2 buckets: create the bucket, its custom
# domain and cache rules, and the two API tokens in Cloudflare first (see
# README.md). Terraform here only describes the bucket (bucket module with
# create_bucket = false) and runs the AWS side.

locals {
  r2_endpoint  = "https://${var.cloudflare_account_id}.r2.cloudflarestorage.com"
  secret_names = ["database-url", "jwt-secret", "manifest-key", "r2-credentials"]
}

resource "aws_secretsmanager_secret" "publisher" {
  for_each                = toset(local.secret_names)
  name                    = "${var.name}/publisher/${each.key}"
  description             = "HotPatch publisher ${each.key}"
  recovery_window_in_days = 7
}

module "bucket" {
  source = "../../modules/bucket"

  name          = var.r2_bucket_name
  create_bucket = false
  s3_endpoint   = local.r2_endpoint
  region        = "auto"
}

module "edge" {
  source = "../../modules/edge_lambda"

  name                 = "${var.name}-edge"
  zip_path             = var.edge_zip_path
  bucket_name          = module.bucket.bucket_name
  bucket_arn           = module.bucket.bucket_arn
  s3_endpoint          = local.r2_endpoint
  s3_region            = "auto"
  s3_access_key_id     = var.edge_r2_access_key_id
  s3_secret_access_key = var.edge_r2_secret_access_key
  trusted_keys         = var.trusted_keys
  public_base_url      = var.device_base_url
  # No CloudFront in front: devices call the Function URL directly (or
  # through a Cloudflare proxy hostname with a Host-header rewrite).
  function_url_auth_type = "NONE"
}

module "db" {
  source = "../../modules/postgres"

  identifier                 = var.name
  vpc_id                     = var.vpc_id
  subnet_ids                 = var.private_subnet_ids
  allowed_security_group_ids = [module.publisher.security_group_id]
  deletion_protection        = var.db_deletion_protection
}

module "publisher" {
  source = "../../modules/publisher"

  name                           = var.name
  image                          = var.publisher_image
  vpc_id                         = var.vpc_id
  subnet_ids                     = var.private_subnet_ids
  ingress_cidr_blocks            = var.admin_cidr_blocks
  bucket_name                    = module.bucket.bucket_name
  bucket_arn                     = module.bucket.bucket_arn
  s3_endpoint                    = local.r2_endpoint
  s3_region                      = "auto"
  database_url_secret_arn        = aws_secretsmanager_secret.publisher["database-url"].arn
  jwt_secret_arn                 = aws_secretsmanager_secret.publisher["jwt-secret"].arn
  manifest_key_secret_arn        = aws_secretsmanager_secret.publisher["manifest-key"].arn
  storage_credentials_secret_arn = aws_secretsmanager_secret.publisher["r2-credentials"].arn
}
