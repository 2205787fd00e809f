output "edge_policy_json" {
  description = "IAM policy document (JSON) for the edge: s3:GetObject on manifests/* and lists/*, s3:ListBucket limited to those prefixes, optional kms:Decrypt. No write or delete action."
  value       = jsonencode(local.edge_policy)
}

output "publisher_policy_json" {
  description = "IAM policy document (JSON) for the publisher or a CI role running the CLI in serverless mode: read/write (no delete) on bundles/* and manifests/* (plus any extra publisher_write_prefixes)."
  value       = jsonencode(local.publisher_policy)
}

output "edge_object_arns" {
  description = "Object ARN patterns the edge may read."
  value       = local.edge_objects
}

output "publisher_object_arns" {
  description = "Object ARN patterns the publisher may write."
  value       = local.publisher_objects
}

output "edge_policy_arn" {
  description = "ARN of the managed edge policy, or null when create_policies is false."
  value       = one(aws_iam_policy.edge_read[*].arn)
}

output "publisher_policy_arn" {
  description = "ARN of the managed publisher policy, or null when create_policies is false."
  value       = one(aws_iam_policy.publisher_write[*].arn)
}
