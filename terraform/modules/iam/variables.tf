variable "bucket_arn" {
  description = "ARN of the storage bucket (arn:aws:s3:::name). For R2 pass the synthetic ARN from the bucket module; IAM does not apply to R2 but the policy is still rendered."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "The bucket_arn must be an S3 bucket ARN such as arn:aws:s3:::my-bucket (no object path)."
  }
}

variable "prefix" {
  description = "Storage prefix inside the bucket (the part after s3://bucket/ in HOTPATCH_STORAGE). Empty, or ends with '/' and has no leading '/'."
  type        = string
  default     = ""

  validation {
    condition     = var.prefix == "" || can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", var.prefix))
    error_message = "The prefix must be empty or look like 'path/to/' (no leading slash, trailing slash, no '..' tricks or wildcards)."
  }

  validation {
    condition     = !strcontains(var.prefix, "..")
    error_message = "The prefix must not contain '..'."
  }
}

variable "publisher_write_prefixes" {
  description = "Top-level storage folders the publisher (and the CLI in serverless mode) may write. Bundles and manifests are required; add \"lists/\" if the publisher also writes device lists."
  type        = list(string)
  default     = ["bundles/", "manifests/"]

  validation {
    condition     = alltrue([for p in var.publisher_write_prefixes : contains(["bundles/", "manifests/", "lists/"], p)])
    error_message = "The publisher_write_prefixes entries must be among \"bundles/\", \"manifests/\", \"lists/\"."
  }

  validation {
    condition     = contains(var.publisher_write_prefixes, "bundles/") && contains(var.publisher_write_prefixes, "manifests/")
    error_message = "The publisher_write_prefixes must include both \"bundles/\" and \"manifests/\"."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the bucket (SSE-KMS), or empty for SSE-S3. When set, the edge may decrypt and the publisher may encrypt with it."
  type        = string
  default     = ""

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be empty or a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "create_policies" {
  description = "Also create the two documents as managed IAM policies (for example to attach the publisher one to a CI role)."
  type        = bool
  default     = false
}

variable "name_prefix" {
  description = "Name prefix of the managed policies when create_policies is true."
  type        = string
  default     = "hotpatch"

  validation {
    condition     = can(regex("^[A-Za-z0-9+=,.@_-]{1,40}$", var.name_prefix))
    error_message = "The name_prefix must be 1-40 characters of A-Z a-z 0-9 +=,.@_-."
  }
}

variable "tags" {
  description = "Tags for the managed policies."
  type        = map(string)
  default     = {}
}
