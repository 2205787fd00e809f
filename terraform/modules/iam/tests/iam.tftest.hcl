# Least-privilege checks on the rendered policies (no AWS needed).
mock_provider "aws" {}

variables {
  bucket_arn = "arn:aws:s3:::hotpatch-test"
  prefix     = "ota/"
}

run "edge_policy_is_read_only" {
  command = plan

  assert {
    condition = length(setintersection(
      toset(flatten([for s in jsondecode(output.edge_policy_json).Statement : s.Action])),
      toset(["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:*", "*"])
    )) == 0
    error_message = "The edge policy must not grant any write or delete action."
  }

  assert {
    condition     = toset(flatten([for s in jsondecode(output.edge_policy_json).Statement : s.Action])) == toset(["s3:GetObject", "s3:ListBucket"])
    error_message = "The edge policy must grant exactly s3:GetObject and s3:ListBucket."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(output.edge_policy_json).Statement : s.Resource if contains(s.Action, "s3:GetObject")
    ])) == toset(["arn:aws:s3:::hotpatch-test/ota/manifests/*", "arn:aws:s3:::hotpatch-test/ota/lists/*"])
    error_message = "The edge may read only manifests/* and lists/* under the storage prefix."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.edge_policy_json).Statement :
      toset(s.Condition.StringLike["s3:prefix"]) == toset(["ota/manifests/*", "ota/lists/*"]) if contains(s.Action, "s3:ListBucket")
    ])
    error_message = "The edge may list only the manifests/ and lists/ prefixes."
  }

  assert {
    condition     = alltrue([for s in jsondecode(output.edge_policy_json).Statement : s.Effect == "Allow" && !contains(flatten([s.Resource]), "*")])
    error_message = "No statement may use a wildcard resource."
  }

  assert {
    condition     = length(aws_iam_policy.edge_read) == 0 && length(aws_iam_policy.publisher_write) == 0
    error_message = "Managed policies are only created on request."
  }
}

run "publisher_policy_writes_bundles_and_manifests_without_delete" {
  command = plan

  assert {
    condition = toset(flatten([
      for s in jsondecode(output.publisher_policy_json).Statement : s.Resource if contains(s.Action, "s3:PutObject")
    ])) == toset(["arn:aws:s3:::hotpatch-test/ota/bundles/*", "arn:aws:s3:::hotpatch-test/ota/manifests/*"])
    error_message = "The publisher writes bundles/* and manifests/* only."
  }

  assert {
    condition = length(setintersection(
      toset(flatten([for s in jsondecode(output.publisher_policy_json).Statement : s.Action])),
      toset(["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteBucket", "s3:PutBucketPolicy", "s3:*", "*"])
    )) == 0
    error_message = "The publisher must not delete objects or administer the bucket."
  }
}

run "kms_key_adds_decrypt_for_edge_only_decrypt" {
  command = plan

  variables {
    kms_key_arn     = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-aaaa-bbbb-cccc-000000000000"
    create_policies = true
  }

  assert {
    condition     = contains(flatten([for s in jsondecode(output.edge_policy_json).Statement : s.Action]), "kms:Decrypt") && !contains(flatten([for s in jsondecode(output.edge_policy_json).Statement : s.Action]), "kms:GenerateDataKey")
    error_message = "With SSE-KMS the edge may decrypt but not encrypt."
  }

  assert {
    condition     = length(aws_iam_policy.edge_read) == 1 && jsondecode(aws_iam_policy.edge_read[0].policy) == jsondecode(output.edge_policy_json)
    error_message = "The managed edge policy carries the same document."
  }
}

run "rejects_object_arn" {
  command = plan

  variables {
    bucket_arn = "arn:aws:s3:::hotpatch-test/*"
  }

  expect_failures = [var.bucket_arn]
}

run "rejects_bad_prefix" {
  command = plan

  variables {
    prefix = "/abs"
  }

  expect_failures = [var.prefix]
}

run "rejects_unknown_write_prefix" {
  command = plan

  variables {
    publisher_write_prefixes = ["bundles/", "manifests/", "secrets/"]
  }

  expect_failures = [var.publisher_write_prefixes]
}
