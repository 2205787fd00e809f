variable "name" {
  description = "Lambda function name (also names the role and log group)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,56}$", var.name))
    error_message = "The name must be 1-56 characters of A-Z a-z 0-9 _ - (room is kept for role suffixes)."
  }
}

variable "zip_path" {
  description = "Path of the deployment package built by `make lambda-zip` (build/lambda/hotpatch-edge-lambda.zip): bootstrap + the edge binary + its shared libraries."
  type        = string

  validation {
    condition     = endswith(var.zip_path, ".zip")
    error_message = "The zip_path must name a .zip file (make lambda-zip)."
  }
}

variable "bucket_name" {
  description = "Storage bucket name (bucket module output bucket_name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket_name must be a valid S3 bucket name."
  }
}

variable "bucket_arn" {
  description = "Storage bucket ARN (bucket module output bucket_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_arn))
    error_message = "The bucket_arn must be an S3 bucket ARN without object path."
  }
}

variable "storage_prefix" {
  description = "Storage prefix inside the bucket (empty or 'path/')."
  type        = string
  default     = ""

  validation {
    condition     = var.storage_prefix == "" || (can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", var.storage_prefix)) && !strcontains(var.storage_prefix, ".."))
    error_message = "The storage_prefix must be empty or look like 'path/to/'."
  }
}

variable "s3_endpoint" {
  description = "HOTPATCH_S3_ENDPOINT for the edge. Empty = https://s3.<function region>.amazonaws.com; set it when the bucket lives in another region or on R2."
  type        = string
  default     = ""

  validation {
    condition     = var.s3_endpoint == "" || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$", var.s3_endpoint))
    error_message = "The s3_endpoint must be empty or an https:// URL with no path."
  }
}

variable "s3_region" {
  description = "Signing region of the bucket when it differs from the function's region (\"auto\" for R2). AWS_REGION is reserved in Lambda, so the bootstrap maps HOTPATCH_S3_REGION onto it."
  type        = string
  default     = ""

  validation {
    condition     = var.s3_region == "" || var.s3_region == "auto" || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.s3_region))
    error_message = "The s3_region must be empty, \"auto\" or an AWS region name."
  }
}

variable "trusted_keys" {
  description = "Base64 Ed25519 public keys (44 characters each) trusted for manifest signatures (HOTPATCH_TRUSTED_KEYS). List old and new key during a rotation."
  type        = list(string)

  validation {
    condition     = length(var.trusted_keys) >= 1 && length(var.trusted_keys) <= 8
    error_message = "Give between 1 and 8 trusted manifest keys."
  }

  validation {
    condition     = alltrue([for k in var.trusted_keys : can(regex("^[A-Za-z0-9+/]{43}=$", k))])
    error_message = "Each trusted key must be a base64 Ed25519 public key: 43 base64 characters and '='."
  }
}

variable "architecture" {
  description = "Lambda architecture; must match the machine that built the zip."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "The architecture must be x86_64 or arm64."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it). The edge is small: 256 MB is plenty."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "The memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout_seconds" {
  description = "Per-invocation timeout. A check answers in milliseconds; the first call of a cold instance also syncs the index."
  type        = number
  default     = 10

  validation {
    condition     = var.timeout_seconds >= 1 && var.timeout_seconds <= 60
    error_message = "The timeout_seconds must be between 1 and 60 (CloudFront waits at most 60 s for an origin)."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency: -1 = unreserved, 0 = disabled, N = cap (protects the account's pool during a check storm)."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrency >= -1 && var.reserved_concurrency <= 10000 && floor(var.reserved_concurrency) == var.reserved_concurrency
    error_message = "The reserved_concurrency must be -1 or a whole number between 0 and 10000."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention for the function's log group."
  type        = number
  default     = 14

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of the values CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ... 3653)."
  }
}

variable "function_url_auth_type" {
  description = "AWS_IAM (default: only CloudFront with Origin Access Control can call it; pass the function name to the cdn module) or NONE (public URL)."
  type        = string
  default     = "AWS_IAM"

  validation {
    condition     = contains(["AWS_IAM", "NONE"], var.function_url_auth_type)
    error_message = "The function_url_auth_type must be AWS_IAM or NONE."
  }
}

variable "kms_key_arn" {
  description = "KMS key of the bucket when it uses SSE-KMS (grants kms:Decrypt), else empty."
  type        = string
  default     = ""

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be empty or a KMS key ARN."
  }
}

variable "extra_environment" {
  description = "Additional environment variables for the edge (for example HOTPATCH_LOG_LEVEL). Cannot override the ones this module sets, nor the AWS_* names Lambda reserves."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for k in keys(var.extra_environment) :
      can(regex("^[A-Z][A-Z0-9_]*$", k)) && !startswith(k, "AWS_") && !startswith(k, "LAMBDA_") &&
    !contains(["HOTPATCH_STORAGE", "HOTPATCH_TRUSTED_KEYS", "HOTPATCH_S3_ENDPOINT", "HOTPATCH_S3_REGION", "HOTPATCH_EDGE_OPTS", "HOTPATCH_S3_ACCESS_KEY_ID", "HOTPATCH_S3_SECRET_ACCESS_KEY", "LD_LIBRARY_PATH", "_HANDLER"], k)])
    error_message = "The extra_environment keys must be upper-case names, not AWS_*/LAMBDA_*, and not one the module manages."
  }
}

variable "tags" {
  description = "Tags for the function, role and log group."
  type        = map(string)
  default     = {}
}

variable "refresh_seconds" {
  description = "An instance re-checks storage before an invocation when its index is older than this (hotpatch-edge --refresh). Worst-case delay for a new release through the edge = this + nothing cached (check answers are not cached)."
  type        = number
  default     = 30

  validation {
    condition     = var.refresh_seconds >= 1 && var.refresh_seconds <= 3600 && floor(var.refresh_seconds) == var.refresh_seconds
    error_message = "The refresh_seconds must be a whole number between 1 and 3600."
  }
}

variable "public_base_url" {
  description = "Base URL put in front of relative bundle URLs in /update/check and /api/firmware/check answers (hotpatch-edge --public-base), e.g. the CDN's https://ota.example.com. Empty: answers carry the relative URL."
  type        = string
  default     = ""

  validation {
    condition     = var.public_base_url == "" || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~/-]*)?$", var.public_base_url))
    error_message = "The public_base_url must be empty or an https:// URL."
  }
}

variable "log_json" {
  description = "JSON log lines (easier to query in CloudWatch Logs Insights)."
  type        = bool
  default     = true
}

variable "s3_access_key_id" {
  description = "Access key for storage outside AWS IAM (a Cloudflare R2 token with Object Read). Empty: the function role's credentials. Passed as HOTPATCH_S3_ACCESS_KEY_ID (Lambda reserves AWS_*); bootstrap maps it."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = var.s3_access_key_id == "" || can(regex("^[A-Za-z0-9]{16,128}$", var.s3_access_key_id))
    error_message = "The s3_access_key_id must be empty or 16-128 letters and digits."
  }
}

variable "s3_secret_access_key" {
  description = "Secret of s3_access_key_id (HOTPATCH_S3_SECRET_ACCESS_KEY). Lands in the function configuration and the Terraform state: restrict lambda:GetFunctionConfiguration and protect the state."
  type        = string
  default     = ""
  sensitive   = true

  validation {
    condition     = (var.s3_secret_access_key == "") == (var.s3_access_key_id == "")
    error_message = "Set both s3_access_key_id and s3_secret_access_key, or neither."
  }
}
