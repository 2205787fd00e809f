# The storage bucket must never be public, must keep old versions for a
# while, and must be encrypted. R2 mode must create nothing.
mock_provider "aws" {
  override_resource {
    target = aws_s3_bucket.this
    values = { arn = "arn:aws:s3:::hotpatch-test-bucket", id = "hotpatch-test-bucket" }
  }
}

variables {
  name = "hotpatch-test-bucket"
}

run "public_access_fully_blocked" {
  command = apply

  assert {
    condition = (aws_s3_bucket_public_access_block.this[0].block_public_acls &&
      aws_s3_bucket_public_access_block.this[0].block_public_policy &&
      aws_s3_bucket_public_access_block.this[0].ignore_public_acls &&
    aws_s3_bucket_public_access_block.this[0].restrict_public_buckets)
    error_message = "All four public access block settings must be true."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this[0].rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this[0].versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.this[0].rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "AES256"
    error_message = "Default encryption must be SSE-S3 when no KMS key is given."
  }

  assert {
    condition = one([
      for r in aws_s3_bucket_lifecycle_configuration.this[0].rule : r.noncurrent_version_expiration[0].noncurrent_days
      if length(r.noncurrent_version_expiration) > 0
    ]) == 30
    error_message = "Noncurrent versions must expire after the configured 30 days."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : s.Effect == "Deny" || s.Principal != "*"
    ])
    error_message = "The bucket policy must never allow Principal \"*\"."
  }

  assert {
    condition = one([
      for st in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : st
      if st.Sid == "DenyUnconditionalManifestWrites"
      ]) == {
      Sid       = "DenyUnconditionalManifestWrites"
      Effect    = "Deny"
      Principal = "*"
      Action    = "s3:PutObject"
      Resource  = ["arn:aws:s3:::hotpatch-test-bucket/manifests/*"]
      Condition = { Null = { "s3:if-match" = "true", "s3:if-none-match" = "true" } }
    }
    error_message = "Manifest writes without If-Match / If-None-Match are denied."
  }

  assert {
    condition     = output.storage_url == "s3://hotpatch-test-bucket/" && !contains(keys(output.environment), "HOTPATCH_S3_ENDPOINT")
    error_message = "On AWS the storage URL is s3://NAME/ and no endpoint override is set."
  }
}

run "cdn_reads_only_release_folders" {
  command = apply

  variables {
    prefix                       = "ota/"
    kms_key_arn                  = "arn:aws:kms:eu-west-1:123456789012:key/abcd"
    cloudfront_distribution_arns = ["arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456"]
  }

  assert {
    condition = toset(one([
      for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : s.Resource if s.Effect == "Allow"
    ])) == toset(["arn:aws:s3:::hotpatch-test-bucket/ota/bundles/*", "arn:aws:s3:::hotpatch-test-bucket/ota/manifests/*"])
    error_message = "CloudFront may read only bundles/* and manifests/* under the prefix."
  }

  assert {
    condition = one([
      for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : s.Condition.StringEquals["AWS:SourceArn"] if s.Effect == "Allow"
    ]) == ["arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456"]
    error_message = "The CloudFront grant must be bound to the distribution ARN."
  }

  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.this[0].rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "aws:kms"
    error_message = "A KMS key switches encryption to SSE-KMS."
  }
}

run "r2_existing_bucket_creates_nothing" {
  command = apply

  variables {
    name          = "hotpatch-r2"
    create_bucket = false
    s3_endpoint   = "https://0123456789abcdef.r2.cloudflarestorage.com"
    region        = "auto"
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && length(aws_s3_bucket_policy.this) == 0 && length(aws_s3_bucket_public_access_block.this) == 0
    error_message = "With create_bucket = false no AWS resource is managed."
  }

  assert {
    condition = output.environment == {
      HOTPATCH_STORAGE     = "s3://hotpatch-r2/"
      HOTPATCH_S3_ENDPOINT = "https://0123456789abcdef.r2.cloudflarestorage.com"
      AWS_REGION           = "auto"
    }
    error_message = "R2 mode renders the storage URL, the endpoint and region auto."
  }

  assert {
    condition     = output.bucket_arn == "arn:aws:s3:::hotpatch-r2"
    error_message = "An existing bucket still gets an ARN for policy rendering."
  }
}

run "rejects_bad_bucket_name" {
  command = plan

  variables {
    name = "Bad_Bucket"
  }

  expect_failures = [var.name]
}

run "rejects_zero_retention" {
  command = plan

  variables {
    noncurrent_version_expiration_days = 0
  }

  expect_failures = [var.noncurrent_version_expiration_days]
}

run "rejects_plain_http_endpoint" {
  command = plan

  variables {
    s3_endpoint = "http://example.com"
  }

  expect_failures = [var.s3_endpoint]
}
