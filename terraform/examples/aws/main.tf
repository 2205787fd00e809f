# A complete HotPatch deployment on AWS:
#
#   devices ──HTTPS──> CloudFront ─┬─ bundles/*, manifests/*  ──OAC──> S3 (private, versioned)
#                                  └─ /v1/check, /update/check ──OAC──> Lambda edge (reads manifests/)
#   CI / developers ──> publisher (ECS Fargate, private) ──> RDS Postgres 15 (private)
#                                                       └──> S3 bundles/ + manifests/ (write)
#
# Secrets live in Secrets Manager. This example creates the (empty) secret
# containers; put their values with `aws secretsmanager put-secret-value`
# (see README.md) so that no secret ever lands in the Terraform state.

locals {
  secret_names = ["database-url", "jwt-secret", "manifest-key"]
}

resource "aws_secretsmanager_secret" "publisher" {
  for_each                = toset(local.secret_names)
  name                    = "${var.name}/publisher/${each.key}"
  description             = "HotPatch publisher ${each.key}"
  recovery_window_in_days = 7
}

module "bucket" {
  source = "../../modules/bucket"

  name                         = var.bucket_name
  prefix                       = var.storage_prefix
  cloudfront_distribution_arns = [module.cdn.distribution_arn]
}

module "edge" {
  source = "../../modules/edge_lambda"

  name           = "${var.name}-edge"
  zip_path       = var.edge_zip_path
  bucket_name    = module.bucket.bucket_name
  bucket_arn     = module.bucket.bucket_arn
  storage_prefix = var.storage_prefix
  trusted_keys   = var.trusted_keys
  # Absolute bundle URLs in the simple check answers; only known up front
  # with a custom host name (the CloudFront name depends on the edge).
  public_base_url = length(var.aliases) > 0 ? "https://${var.aliases[0]}" : ""
}

module "cdn" {
  source = "../../modules/cdn"

  name                        = var.name
  bucket_regional_domain_name = module.bucket.bucket_regional_domain_name
  storage_prefix              = var.storage_prefix
  enable_edge                 = true
  edge_function_url           = module.edge.function_url
  edge_function_name          = module.edge.function_name
  aliases                     = var.aliases
  acm_certificate_arn         = var.acm_certificate_arn
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
  storage_prefix                 = var.storage_prefix
  s3_region                      = var.region
  database_url_secret_arn        = aws_secretsmanager_secret.publisher["database-url"].arn
  jwt_secret_arn                 = aws_secretsmanager_secret.publisher["jwt-secret"].arn
  manifest_key_secret_arn        = aws_secretsmanager_secret.publisher["manifest-key"].arn
  storage_credentials_secret_arn = var.publisher_storage_credentials_secret_arn
}
