# Cache behaviour is the whole point of the CDN: immutable bundles cached
# for long, manifests short, device checks not cached, HTTPS only.
mock_provider "aws" {
  override_resource {
    target = aws_cloudfront_distribution.this
    values = {
      arn         = "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456"
      domain_name = "d111111abcdef8.cloudfront.net"
    }
  }
}

variables {
  name                        = "hotpatch-test"
  bucket_regional_domain_name = "hotpatch-test.s3.eu-west-1.amazonaws.com"
  storage_prefix              = "ota/"
  enable_edge                 = true
  edge_function_url           = "https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/"
  edge_function_name          = "hotpatch-test-edge"
}

run "ttls_and_routing" {
  command = apply

  assert {
    condition     = aws_cloudfront_cache_policy.bundles.default_ttl == 31536000 && aws_cloudfront_cache_policy.bundles.max_ttl == 31536000 && aws_cloudfront_cache_policy.bundles.min_ttl >= 86400
    error_message = "Bundles are cached for a year, never less than a day."
  }

  assert {
    condition     = aws_cloudfront_cache_policy.manifests.min_ttl == 0 && aws_cloudfront_cache_policy.manifests.default_ttl == 30 && aws_cloudfront_cache_policy.manifests.max_ttl <= 300
    error_message = "Manifests are cached briefly (default 30 s) and min_ttl 0 lets the origin's Cache-Control win."
  }

  assert {
    condition = one([
      for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.cache_policy_id if b.path_pattern == "bundles/*"
    ]) == aws_cloudfront_cache_policy.bundles.id
    error_message = "bundles/* must use the long-TTL bundle policy."
  }

  assert {
    condition = one([
      for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.cache_policy_id if b.path_pattern == "manifests/*"
    ]) == aws_cloudfront_cache_policy.manifests.id
    error_message = "manifests/* must use the short-TTL manifest policy."
  }

  assert {
    condition = alltrue([
      for b in aws_cloudfront_distribution.this.ordered_cache_behavior :
      b.cache_policy_id == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" && b.target_origin_id == "hotpatch-edge"
      if startswith(b.path_pattern, "/v1/check") || startswith(b.path_pattern, "/update/") || startswith(b.path_pattern, "/api/")
    ]) && length([for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b if b.target_origin_id == "hotpatch-edge"]) == 3
    error_message = "The three check endpoints go to the edge origin with caching disabled."
  }

  assert {
    condition = alltrue(concat(
      [for b in aws_cloudfront_distribution.this.ordered_cache_behavior : b.viewer_protocol_policy == "https-only"],
      [for b in aws_cloudfront_distribution.this.default_cache_behavior : b.viewer_protocol_policy == "https-only"],
    ))
    error_message = "Every behaviour is HTTPS only."
  }

  assert {
    condition = alltrue([
      for b in concat(tolist(aws_cloudfront_distribution.this.ordered_cache_behavior), tolist(aws_cloudfront_distribution.this.default_cache_behavior)) :
      toset(b.allowed_methods) == toset(["GET", "HEAD"])
    ])
    error_message = "The CDN only serves GET and HEAD: no writes or syncs through it."
  }

  assert {
    condition     = one([for o in aws_cloudfront_distribution.this.origin : o.origin_path if o.origin_id == "hotpatch-storage"]) == "/ota"
    error_message = "The storage prefix becomes the S3 origin path."
  }

  assert {
    condition     = one([for o in aws_cloudfront_distribution.this.origin : o.domain_name if o.origin_id == "hotpatch-edge"]) == "abcdefghijklmnop.lambda-url.eu-west-1.on.aws"
    error_message = "The edge origin is the Function URL host."
  }

  assert {
    condition     = aws_lambda_permission.cloudfront_url[0].source_arn == "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456" && aws_lambda_permission.cloudfront_url[0].function_url_auth_type == "AWS_IAM"
    error_message = "Only this distribution may invoke the edge Function URL."
  }

  assert {
    condition     = output.check_url == "https://d111111abcdef8.cloudfront.net/v1/check"
    error_message = "check_url points at the distribution."
  }
}

run "without_edge" {
  command = apply

  variables {
    enable_edge        = false
    edge_function_url  = ""
    edge_function_name = ""
  }

  assert {
    condition     = length(aws_cloudfront_distribution.this.origin) == 1 && length(aws_cloudfront_distribution.this.ordered_cache_behavior) == 2 && length(aws_lambda_permission.cloudfront_url) == 0
    error_message = "Without the edge only the storage origin and its two behaviours exist."
  }
}

run "rejects_long_manifest_ttl" {
  command = plan

  variables {
    manifest_default_ttl_seconds = 3600
  }

  expect_failures = [var.manifest_default_ttl_seconds]
}

run "rejects_short_bundle_ttl" {
  command = plan

  variables {
    bundle_ttl_seconds = 60
  }

  expect_failures = [var.bundle_ttl_seconds]
}

run "rejects_alias_without_certificate" {
  command = plan

  variables {
    aliases = ["ota.example.com"]
  }

  expect_failures = [var.aliases]
}

run "rejects_certificate_outside_us_east_1" {
  command = plan

  variables {
    aliases             = ["ota.example.com"]
    acm_certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/abc"
  }

  expect_failures = [var.acm_certificate_arn]
}

run "rejects_max_below_default" {
  command = plan

  variables {
    manifest_default_ttl_seconds = 120
    manifest_max_ttl_seconds     = 60
  }

  expect_failures = [var.manifest_max_ttl_seconds]
}
