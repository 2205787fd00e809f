# Least-privilege S3 policies for HotPatch storage, built as plain data so
# they can be tested without AWS: the edge reads manifests/ and lists/ and
# nothing else (it never writes); the publisher (or the CLI in serverless
# mode) reads and writes bundles/ and manifests/ but cannot delete. Object
# deletion and bucket administration stay with humans.

locals {
  edge_read_prefixes = ["manifests/", "lists/"]

  edge_objects      = [for p in local.edge_read_prefixes : "${var.bucket_arn}/${var.prefix}${p}*"]
  publisher_objects = [for p in var.publisher_write_prefixes : "${var.bucket_arn}/${var.prefix}${p}*"]

  kms_edge = var.kms_key_arn == "" ? [] : [{
    Sid      = "DecryptObjects"
    Effect   = "Allow"
    Action   = ["kms:Decrypt"]
    Resource = [var.kms_key_arn]
  }]

  kms_publisher = var.kms_key_arn == "" ? [] : [{
    Sid      = "EncryptObjects"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = [var.kms_key_arn]
  }]

  edge_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadManifestsAndLists"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = local.edge_objects
      },
      {
        Sid      = "ListManifestsAndLists"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [var.bucket_arn]
        Condition = {
          StringLike = {
            "s3:prefix" = [for p in local.edge_read_prefixes : "${var.prefix}${p}*"]
          }
        }
      },
    ], local.kms_edge)
  }

  publisher_policy = {
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ReadWriteReleaseObjects"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
        Resource = local.publisher_objects
      },
      {
        Sid      = "ListReleaseObjects"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = [var.bucket_arn]
        Condition = {
          StringLike = {
            "s3:prefix" = [for p in var.publisher_write_prefixes : "${var.prefix}${p}*"]
          }
        }
      },
    ], local.kms_publisher)
  }
}

resource "aws_iam_policy" "edge_read" {
  count       = var.create_policies ? 1 : 0
  name_prefix = "${var.name_prefix}-edge-read-"
  description = "HotPatch edge: read manifests/ and lists/ only"
  policy      = jsonencode(local.edge_policy)
  tags        = var.tags
}

resource "aws_iam_policy" "publisher_write" {
  count       = var.create_policies ? 1 : 0
  name_prefix = "${var.name_prefix}-publisher-write-"
  description = "HotPatch publisher / serverless CLI: read and write bundles/ and manifests/, no delete"
  policy      = jsonencode(local.publisher_policy)
  tags        = var.tags
}
