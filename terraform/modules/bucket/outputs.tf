output "bucket_name" {
  description = "Bucket name (created or existing)."
  value       = var.name
}

output "bucket_arn" {
  description = "Bucket ARN for IAM policies. For an existing non-AWS bucket (R2) this is the synthetic arn:aws:s3:::NAME."
  value       = local.arn
}

output "bucket_regional_domain_name" {
  description = "Regional S3 domain name to use as a CloudFront origin; null when the bucket is not created here."
  value       = local.created ? aws_s3_bucket.this[0].bucket_regional_domain_name : null
}

output "created" {
  description = "Whether this module created (and manages) the bucket."
  value       = local.created
}

output "prefix" {
  description = "Storage prefix inside the bucket."
  value       = var.prefix
}

output "storage_url" {
  description = "Value for HOTPATCH_STORAGE (s3://bucket/prefix)."
  value       = "s3://${var.name}/${var.prefix}"
}

output "s3_endpoint" {
  description = "Value for HOTPATCH_S3_ENDPOINT (empty = AWS default endpoint)."
  value       = var.s3_endpoint
}

output "environment" {
  description = "Environment for the HotPatch programs (HOTPATCH_STORAGE, and HOTPATCH_S3_ENDPOINT / AWS_REGION when set). Credentials are not included."
  value = merge(
    { HOTPATCH_STORAGE = "s3://${var.name}/${var.prefix}" },
    var.s3_endpoint == "" ? {} : { HOTPATCH_S3_ENDPOINT = trimsuffix(var.s3_endpoint, "/") },
    var.region == "" ? {} : { AWS_REGION = var.region },
  )
}

output "bucket_policy_json" {
  description = "The bucket policy document that is applied (TLS only + CloudFront read of bundles/ and manifests/)."
  value       = jsonencode(local.bucket_policy)
}
