variable "region" {
  description = "AWS region for the edge Lambda, the database and the publisher."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be an AWS region name such as eu-west-1."
  }
}

variable "name" {
  description = "Deployment name (prefix of every AWS resource)."
  type        = string
  default     = "hotpatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name))
    error_message = "The name must be 3-22 characters of a-z 0-9 -, starting with a letter."
  }
}

variable "cloudflare_account_id" {
  description = "Cloudflare account id (32 hex characters): the R2 S3 endpoint is https://<id>.r2.cloudflarestorage.com."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{32}$", var.cloudflare_account_id))
    error_message = "The cloudflare_account_id must be 32 lower-case hex characters."
  }
}

variable "r2_bucket_name" {
  description = "Existing R2 bucket (wrangler r2 bucket create NAME)."
  type        = string
}

variable "device_base_url" {
  description = "The R2 bucket's custom domain with Cloudflare caching, e.g. https://ota.example.com: devices fetch manifests and bundles there; the edge prefixes relative bundle URLs with it."
  type        = string

  validation {
    condition     = can(regex("^https://[a-z0-9.-]+$", var.device_base_url))
    error_message = "The device_base_url must be https://HOST without a path."
  }
}

variable "edge_r2_access_key_id" {
  description = "R2 API token (Object Read on the bucket) used by the edge."
  type        = string
  sensitive   = true
}

variable "edge_r2_secret_access_key" {
  description = "Secret of edge_r2_access_key_id."
  type        = string
  sensitive   = true
}

variable "vpc_id" {
  description = "Existing VPC for the database and the publisher."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two or more AZs) with egress to the internet (R2) and AWS APIs."
  type        = list(string)
}

variable "admin_cidr_blocks" {
  description = "Who may reach the publisher admin API."
  type        = list(string)
  default     = []
}

variable "publisher_image" {
  description = "Publisher image (publisher/deploy/Dockerfile), pinned by tag or digest."
  type        = string
}

variable "edge_zip_path" {
  description = "Edge Lambda package built by `make lambda-zip`."
  type        = string
  default     = "../../../build/lambda/hotpatch-edge-lambda.zip"
}

variable "trusted_keys" {
  description = "Manifest public keys (base64) the edge trusts."
  type        = list(string)
}

variable "db_deletion_protection" {
  description = "Deletion protection of the database."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every AWS resource."
  type        = map(string)
  default     = {}
}
