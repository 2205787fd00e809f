variable "name" {
  description = "Bucket name. With create_bucket = false this names an existing bucket (for example a Cloudflare R2 bucket)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)) && !strcontains(var.name, "..") && !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.name))
    error_message = "The bucket name must be 3-63 characters of a-z 0-9 . -, start and end with a letter or digit, and not look like an IP address."
  }
}

variable "create_bucket" {
  description = "Create and harden an AWS S3 bucket. Set false to use an existing bucket, typically Cloudflare R2 (which the aws provider cannot manage here): the module then only renders names, URLs and environment."
  type        = bool
  default     = true
}

variable "s3_endpoint" {
  description = "S3 API endpoint the HotPatch programs should use (HOTPATCH_S3_ENDPOINT). Empty for AWS S3; for R2: https://<ACCOUNT_ID>.r2.cloudflarestorage.com."
  type        = string
  default     = ""

  validation {
    condition     = var.s3_endpoint == "" || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$", var.s3_endpoint))
    error_message = "The s3_endpoint must be empty or an https:// URL with no path."
  }
}

variable "region" {
  description = "Region name to hand to the programs (AWS_REGION). R2 uses \"auto\". Empty = the provider's region is assumed by the caller."
  type        = string
  default     = ""

  validation {
    condition     = var.region == "" || var.region == "auto" || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "The region must be empty, \"auto\" (R2) or an AWS region name such as eu-west-1."
  }
}

variable "prefix" {
  description = "Storage prefix inside the bucket; HOTPATCH_STORAGE becomes s3://NAME/PREFIX. Empty, or ends with '/'."
  type        = string
  default     = ""

  validation {
    condition     = var.prefix == "" || (can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", var.prefix)) && !strcontains(var.prefix, ".."))
    error_message = "The prefix must be empty or look like 'path/to/' (no leading slash, a trailing slash, no '..')."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep noncurrent object versions (old manifests, overwritten objects) before expiring them. Keeps a window to restore a manifest."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "The noncurrent_version_expiration_days must be a whole number between 1 and 3650."
  }
}

variable "noncurrent_versions_to_keep" {
  description = "Newest noncurrent versions kept regardless of age (0-100)."
  type        = number
  default     = 5

  validation {
    condition     = var.noncurrent_versions_to_keep >= 0 && var.noncurrent_versions_to_keep <= 100 && floor(var.noncurrent_versions_to_keep) == var.noncurrent_versions_to_keep
    error_message = "The noncurrent_versions_to_keep must be a whole number between 0 and 100."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which unfinished multipart uploads (interrupted bundle uploads) are aborted."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && var.abort_incomplete_multipart_days <= 365
    error_message = "The abort_incomplete_multipart_days must be between 1 and 365."
  }
}

variable "kms_key_arn" {
  description = "KMS key for SSE-KMS. Empty = SSE-S3 (AES256), which CloudFront OAC reads without extra key policy."
  type        = string
  default     = ""

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be empty or a KMS key ARN."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete a non-empty bucket. Keep false in production."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}

variable "cloudfront_distribution_arns" {
  description = "CloudFront distributions (cdn module output distribution_arn) allowed to read bundles/ and manifests/ through Origin Access Control. Ignored when create_bucket = false."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.cloudfront_distribution_arns : can(regex("^arn:aws[a-zA-Z-]*:cloudfront::[0-9]{12}:distribution/[A-Z0-9]+$", a))])
    error_message = "Each cloudfront_distribution_arns entry must be a CloudFront distribution ARN."
  }
}

variable "require_conditional_manifest_writes" {
  description = "Deny any PutObject on manifests/* that carries neither If-Match nor If-None-Match. The publisher and the CLI always write manifests conditionally (two concurrent releases cannot silently overwrite each other); this makes S3 refuse a writer that does not, e.g. a hand-run `aws s3 cp`."
  type        = bool
  default     = true
}
