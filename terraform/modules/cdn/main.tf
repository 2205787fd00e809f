# CloudFront in front of the HotPatch bucket (and optionally the edge).
# Devices download bundles/* (immutable: cached for a year) and
# manifests/* (mutable: short TTL that honours the origin's Cache-Control)
# from S3 through Origin Access Control, so the bucket stays private. The
# per-device check endpoints go to the edge origin uncached, with every
# query parameter forwarded. Viewers must use HTTPS.

locals {
  s3_origin_id   = "hotpatch-storage"
  edge_origin_id = "hotpatch-edge"
  origin_path    = var.storage_prefix == "" ? "" : "/${trimsuffix(var.storage_prefix, "/")}"
  edge_host      = trimsuffix(trimprefix(var.edge_function_url, "https://"), "/")
  edge_oac       = var.enable_edge && var.edge_function_name != ""

  # AWS managed policies (their ids are global and fixed):
  # Managed-CachingDisabled and Managed-AllViewerExceptHostHeader (a Lambda
  # Function URL rejects a foreign Host header).
  managed_caching_disabled              = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
  managed_all_viewer_except_host_header = "b689b0a8-53d0-40ab-baf2-68738e2966ac"

  # The edge's device-facing endpoints (docs/interfaces.md).
  edge_paths = ["/v1/check*", "/update/check*", "/api/firmware/check*"]
}

resource "aws_cloudfront_origin_access_control" "s3" {
  name                              = "${var.name}-s3"
  description                       = "HotPatch ${var.name}: CloudFront reads the private bucket"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

resource "aws_cloudfront_origin_access_control" "edge" {
  count                             = local.edge_oac ? 1 : 0
  name                              = "${var.name}-edge"
  description                       = "HotPatch ${var.name}: CloudFront invokes the edge Function URL"
  origin_access_control_origin_type = "lambda"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

# bundles/<app>/<platform>/<sha256>.zip never change: cache for the full TTL,
# key on the path only, no compression (zips are already compressed).
resource "aws_cloudfront_cache_policy" "bundles" {
  name        = "${var.name}-bundles"
  comment     = "HotPatch bundles: immutable, content-addressed"
  min_ttl     = 86400
  default_ttl = var.bundle_ttl_seconds
  max_ttl     = var.bundle_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = false
    enable_accept_encoding_brotli = false

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# manifests/<app>/<platform>/<channel>.json change on every release: honour
# the origin's Cache-Control (max-age=30) within [0, manifest_max_ttl].
resource "aws_cloudfront_cache_policy" "manifests" {
  name        = "${var.name}-manifests"
  comment     = "HotPatch manifests: short TTL, origin Cache-Control honoured"
  min_ttl     = 0
  default_ttl = var.manifest_default_ttl_seconds
  max_ttl     = var.manifest_max_ttl_seconds

  parameters_in_cache_key_and_forwarded_to_origin {
    enable_accept_encoding_gzip   = true
    enable_accept_encoding_brotli = true

    cookies_config {
      cookie_behavior = "none"
    }
    headers_config {
      header_behavior = "none"
    }
    query_strings_config {
      query_string_behavior = "none"
    }
  }
}

# Cache-Control for viewers when the object in S3 carries none (the
# uploader may not set object metadata); origin values win otherwise.
resource "aws_cloudfront_response_headers_policy" "bundles" {
  name    = "${var.name}-bundles"
  comment = "HotPatch bundles: immutable caching + security headers"

  custom_headers_config {
    items {
      header   = "Cache-Control"
      value    = "public, max-age=${var.bundle_ttl_seconds}, immutable"
      override = false
    }
  }

  security_headers_config {
    content_type_options {
      override = true
    }
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      override                   = true
    }
  }
}

resource "aws_cloudfront_response_headers_policy" "manifests" {
  name    = "${var.name}-manifests"
  comment = "HotPatch manifests: short caching + security headers"

  custom_headers_config {
    items {
      header   = "Cache-Control"
      value    = "public, max-age=${var.manifest_default_ttl_seconds}"
      override = false
    }
  }

  security_headers_config {
    content_type_options {
      override = true
    }
    strict_transport_security {
      access_control_max_age_sec = 63072000
      include_subdomains         = true
      override                   = true
    }
  }
}

resource "aws_cloudfront_distribution" "this" {
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  comment         = "HotPatch ${var.name}"
  price_class     = var.price_class
  aliases         = var.aliases
  web_acl_id      = var.web_acl_id == "" ? null : var.web_acl_id
  tags            = var.tags

  origin {
    origin_id                = local.s3_origin_id
    domain_name              = var.bucket_regional_domain_name
    origin_path              = local.origin_path
    origin_access_control_id = aws_cloudfront_origin_access_control.s3.id
  }

  dynamic "origin" {
    for_each = var.enable_edge ? [1] : []
    content {
      origin_id                = local.edge_origin_id
      domain_name              = local.edge_host
      origin_access_control_id = local.edge_oac ? aws_cloudfront_origin_access_control.edge[0].id : null

      custom_origin_config {
        http_port              = 80
        https_port             = 443
        origin_protocol_policy = "https-only"
        origin_ssl_protocols   = ["TLSv1.2"]
        origin_read_timeout    = 10
      }
    }
  }

  # Anything else under the storage root (GET/HEAD only): treated like a
  # manifest, short TTL. Writes never go through the CDN.
  default_cache_behavior {
    target_origin_id           = local.s3_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.manifests.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.manifests.id
  }

  ordered_cache_behavior {
    path_pattern               = "bundles/*"
    target_origin_id           = local.s3_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = false
    cache_policy_id            = aws_cloudfront_cache_policy.bundles.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.bundles.id
  }

  ordered_cache_behavior {
    path_pattern               = "manifests/*"
    target_origin_id           = local.s3_origin_id
    viewer_protocol_policy     = "https-only"
    allowed_methods            = ["GET", "HEAD"]
    cached_methods             = ["GET", "HEAD"]
    compress                   = true
    cache_policy_id            = aws_cloudfront_cache_policy.manifests.id
    response_headers_policy_id = aws_cloudfront_response_headers_policy.manifests.id
  }

  # Per-device answers: never cached, every query parameter forwarded.
  dynamic "ordered_cache_behavior" {
    for_each = var.enable_edge ? local.edge_paths : []
    content {
      path_pattern             = ordered_cache_behavior.value
      target_origin_id         = local.edge_origin_id
      viewer_protocol_policy   = "https-only"
      allowed_methods          = ["GET", "HEAD"]
      cached_methods           = ["GET", "HEAD"]
      compress                 = true
      cache_policy_id          = local.managed_caching_disabled
      origin_request_policy_id = local.managed_all_viewer_except_host_header
    }
  }

  dynamic "logging_config" {
    for_each = var.log_bucket_domain_name == "" ? [] : [1]
    content {
      bucket          = var.log_bucket_domain_name
      include_cookies = false
      prefix          = "${var.name}/"
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.acm_certificate_arn == ""
    acm_certificate_arn            = var.acm_certificate_arn == "" ? null : var.acm_certificate_arn
    ssl_support_method             = var.acm_certificate_arn == "" ? null : "sni-only"
    minimum_protocol_version       = var.acm_certificate_arn == "" ? "TLSv1" : "TLSv1.2_2021"
  }
}

# Function URLs with AWS_IAM auth accept CloudFront's signed requests only
# when the function grants it both URL and function invocation.
resource "aws_lambda_permission" "cloudfront_url" {
  count                  = local.edge_oac ? 1 : 0
  statement_id           = "AllowCloudFrontInvokeFunctionUrl"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = var.edge_function_name
  principal              = "cloudfront.amazonaws.com"
  source_arn             = aws_cloudfront_distribution.this.arn
  function_url_auth_type = "AWS_IAM"
}

resource "aws_lambda_permission" "cloudfront_invoke" {
  count         = local.edge_oac ? 1 : 0
  statement_id  = "AllowCloudFrontInvokeFunction"
  action        = "lambda:InvokeFunction"
  function_name = var.edge_function_name
  principal     = "cloudfront.amazonaws.com"
  source_arn    = aws_cloudfront_distribution.this.arn
}
