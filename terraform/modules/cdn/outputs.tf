output "distribution_id" {
  description = "CloudFront distribution id (for cache invalidations)."
  value       = aws_cloudfront_distribution.this.id
}

output "distribution_arn" {
  description = "CloudFront distribution ARN; pass it to the bucket module's cloudfront_distribution_arns."
  value       = aws_cloudfront_distribution.this.arn
}

output "domain_name" {
  description = "The distribution's *.cloudfront.net host name (point DNS aliases here)."
  value       = aws_cloudfront_distribution.this.domain_name
}

output "hosted_zone_id" {
  description = "Route 53 zone id for alias records to the distribution."
  value       = aws_cloudfront_distribution.this.hosted_zone_id
}

output "base_url" {
  description = "HTTPS base URL devices use for bundles and manifests (bundle_url in manifests is resolved against it)."
  value       = "https://${length(var.aliases) > 0 ? var.aliases[0] : aws_cloudfront_distribution.this.domain_name}"
}

output "check_url" {
  description = "URL of the edge check endpoint through the CDN, or null when the edge is not routed."
  value       = var.enable_edge ? "https://${length(var.aliases) > 0 ? var.aliases[0] : aws_cloudfront_distribution.this.domain_name}/v1/check" : null
}

output "bundles_cache_policy_id" {
  description = "Cache policy id used for bundles/*."
  value       = aws_cloudfront_cache_policy.bundles.id
}

output "manifests_cache_policy_id" {
  description = "Cache policy id used for manifests/* and the default behaviour."
  value       = aws_cloudfront_cache_policy.manifests.id
}
