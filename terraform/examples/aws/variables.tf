variable "region" {
  description = "AWS region for the bucket, the edge Lambda, the database and the publisher."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Deployment name (prefix of every resource)."
  type        = string
  default     = "hotpatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name))
    error_message = "The name must be 3-22 characters of a-z 0-9 -, starting with a letter."
  }
}

variable "bucket_name" {
  description = "Globally unique S3 bucket name for bundles and manifests."
  type        = string
}

variable "storage_prefix" {
  description = "Prefix inside the bucket (empty or 'path/')."
  type        = string
  default     = ""
}

variable "vpc_id" {
  description = "Existing VPC for the database and the publisher."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two or more AZs) with egress (NAT or VPC endpoints)."
  type        = list(string)
}

variable "admin_cidr_blocks" {
  description = "Who may reach the publisher admin API (VPN / CI runner ranges)."
  type        = list(string)
  default     = []
}

variable "publisher_image" {
  description = "Publisher image pushed to ECR (publisher/deploy/Dockerfile), pinned by tag or digest."
  type        = string
}

variable "edge_zip_path" {
  description = "Edge Lambda package built by `make lambda-zip`."
  type        = string
  default     = "../../../build/lambda/hotpatch-edge-lambda.zip"
}

variable "trusted_keys" {
  description = "Manifest public keys (base64) the edge trusts. During a rotation list both."
  type        = list(string)
}

variable "aliases" {
  description = "Optional custom host names for the CDN (need acm_certificate_arn in us-east-1)."
  type        = list(string)
  default     = []
}

variable "acm_certificate_arn" {
  description = "ACM certificate (us-east-1) for the aliases."
  type        = string
  default     = ""
}

variable "db_deletion_protection" {
  description = "Deletion protection of the database (keep true in production)."
  type        = bool
  default     = true
}

variable "publisher_storage_credentials_secret_arn" {
  description = "Optional Secrets Manager secret with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY for the publisher's S3 access (see docs/operations.md)."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
