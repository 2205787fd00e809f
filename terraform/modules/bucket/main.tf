# HotPatch storage bucket. On AWS: an S3 bucket that is never public
# (devices reach it only through the CDN), versioned so an overwritten
# manifest can be restored, encrypted at rest, with old versions and
# abandoned multipart uploads expired. With create_bucket = false the module
# manages nothing and only describes an existing bucket (Cloudflare R2 or a
# bucket owned elsewhere) so the other modules can be wired the same way.

locals {
  created = var.create_bucket
  # ARN form used by IAM policies. For R2 it is synthetic (R2 has no IAM).
  arn = local.created ? aws_s3_bucket.this[0].arn : "arn:aws:s3:::${var.name}"
}

resource "aws_s3_bucket" "this" {
  count         = local.created ? 1 : 0
  bucket        = var.name
  force_destroy = var.force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count  = local.created ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  count  = local.created ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  count  = local.created ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count  = local.created ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == "" ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn == "" ? null : var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != ""
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count  = local.created ? 1 : 0
  bucket = aws_s3_bucket.this[0].id

  # Versioning must be on before noncurrent-version rules mean anything.
  depends_on = [aws_s3_bucket_versioning.this]

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days           = var.noncurrent_version_expiration_days
      newer_noncurrent_versions = var.noncurrent_versions_to_keep > 0 ? var.noncurrent_versions_to_keep : null
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"

    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }
}

# The bucket policy: refuse plain HTTP for everyone, and let only the given
# CloudFront distributions (through Origin Access Control) read the two
# folders devices download from. Nothing else is granted here; programs get
# their rights from IAM roles (see the iam module).
locals {
  cdn_read_statement = length(var.cloudfront_distribution_arns) == 0 ? [] : [{
    Sid       = "AllowCloudFrontReadOfReleaseObjects"
    Effect    = "Allow"
    Principal = { Service = "cloudfront.amazonaws.com" }
    Action    = "s3:GetObject"
    Resource  = ["${local.arn}/${var.prefix}bundles/*", "${local.arn}/${var.prefix}manifests/*"]
    Condition = { StringEquals = { "AWS:SourceArn" = var.cloudfront_distribution_arns } }
  }]

  conditional_manifest_statement = var.require_conditional_manifest_writes ? [{
    Sid       = "DenyUnconditionalManifestWrites"
    Effect    = "Deny"
    Principal = "*"
    Action    = "s3:PutObject"
    Resource  = ["${local.arn}/${var.prefix}manifests/*"]
    Condition = { Null = { "s3:if-match" = "true", "s3:if-none-match" = "true" } }
  }] : []

  bucket_policy = {
    Version = "2012-10-17"
    Statement = concat([{
      Sid       = "DenyInsecureTransport"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:*"
      Resource  = [local.arn, "${local.arn}/*"]
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }], local.conditional_manifest_statement, local.cdn_read_statement)
  }
}

resource "aws_s3_bucket_policy" "this" {
  count  = local.created ? 1 : 0
  bucket = aws_s3_bucket.this[0].id
  policy = jsonencode(local.bucket_policy)

  # S3 rejects policies while the public access block is being changed.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
