variable "name" {
  description = "Deployment name, used in resource names and the distribution comment."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.name))
    error_message = "The name must be 3-40 characters of a-z 0-9 -, starting with a letter."
  }
}

variable "bucket_regional_domain_name" {
  description = "Regional domain name of the S3 bucket (bucket module output bucket_regional_domain_name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+\\.s3\\.([a-z0-9-]+\\.)?amazonaws\\.com(\\.cn)?$", var.bucket_regional_domain_name))
    error_message = "The bucket_regional_domain_name must be an S3 domain such as my-bucket.s3.eu-west-1.amazonaws.com."
  }
}

variable "storage_prefix" {
  description = "Storage prefix inside the bucket (same as the bucket module's prefix). Becomes the S3 origin path, so devices see /bundles/... and /manifests/... at the root."
  type        = string
  default     = ""

  validation {
    condition     = var.storage_prefix == "" || (can(regex("^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/$", var.storage_prefix)) && !strcontains(var.storage_prefix, ".."))
    error_message = "The storage_prefix must be empty or look like 'path/to/'."
  }
}

variable "enable_edge" {
  description = "Route the device check endpoints (/v1/check, /update/check, /api/firmware/check) to the edge origin. A plain bool so it is known at plan time."
  type        = bool
  default     = false
}

variable "edge_function_url" {
  description = "Edge origin URL (edge_lambda output function_url, or https://host of edge replicas). Used when enable_edge is true."
  type        = string
  default     = ""

  validation {
    condition     = var.edge_function_url == "" || can(regex("^https://[A-Za-z0-9.-]+/?$", var.edge_function_url))
    error_message = "The edge_function_url must be empty or https://HOST with no path."
  }
}

variable "edge_function_name" {
  description = "Lambda function name of the edge. When set (with enable_edge), CloudFront signs origin requests with Origin Access Control and is granted permission to invoke the Function URL, whose auth type must then be AWS_IAM. Leave empty for a public edge origin (replicas behind a load balancer)."
  type        = string
  default     = ""

  validation {
    condition     = var.edge_function_name == "" || can(regex("^[A-Za-z0-9_-]{1,64}$", var.edge_function_name))
    error_message = "The edge_function_name must be empty or a Lambda function name (1-64 characters of A-Z a-z 0-9 _ -)."
  }
}

variable "bundle_ttl_seconds" {
  description = "Cache TTL for bundles/* (immutable, content-addressed): used as default and maximum; minimum is one day even if the origin sends less."
  type        = number
  default     = 31536000

  validation {
    condition     = var.bundle_ttl_seconds >= 86400 && var.bundle_ttl_seconds <= 31536000
    error_message = "The bundle_ttl_seconds must be between 86400 (1 day) and 31536000 (1 year): bundles never change."
  }
}

variable "manifest_default_ttl_seconds" {
  description = "Cache TTL for manifests/* when the origin sends no Cache-Control. The publisher writes max-age=30; this caps how stale a channel can be at the CDN."
  type        = number
  default     = 30

  validation {
    condition     = var.manifest_default_ttl_seconds >= 0 && var.manifest_default_ttl_seconds <= 300
    error_message = "The manifest_default_ttl_seconds must be between 0 and 300: manifests change on every release and rollback."
  }
}

variable "manifest_max_ttl_seconds" {
  description = "Upper bound on the manifest TTL even if the origin asks for more."
  type        = number
  default     = 60

  validation {
    condition     = var.manifest_max_ttl_seconds >= 1 && var.manifest_max_ttl_seconds <= 300
    error_message = "The manifest_max_ttl_seconds must be between 1 and 300."
  }

  validation {
    condition     = var.manifest_max_ttl_seconds >= var.manifest_default_ttl_seconds
    error_message = "The manifest_max_ttl_seconds must be at least manifest_default_ttl_seconds."
  }
}

variable "price_class" {
  description = "CloudFront price class."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.price_class)
    error_message = "The price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "aliases" {
  description = "Custom host names (CNAMEs) for the distribution. Requires acm_certificate_arn."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.aliases : can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", a))])
    error_message = "Each alias must be a lower-case DNS name."
  }

  validation {
    condition     = length(var.aliases) == 0 || var.acm_certificate_arn != ""
    error_message = "Custom aliases need an acm_certificate_arn."
  }
}

variable "acm_certificate_arn" {
  description = "ACM certificate for the aliases. CloudFront only accepts certificates from us-east-1. Empty = the default *.cloudfront.net certificate."
  type        = string
  default     = ""

  validation {
    condition     = var.acm_certificate_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$", var.acm_certificate_arn))
    error_message = "The acm_certificate_arn must be an ACM certificate ARN in us-east-1."
  }
}

variable "web_acl_id" {
  description = "Optional AWS WAF (v2) web ACL ARN, e.g. to rate-limit the check endpoints per IP."
  type        = string
  default     = ""
}

variable "log_bucket_domain_name" {
  description = "Optional S3 bucket domain (bucket.s3.amazonaws.com) for standard access logs. Empty disables logging."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags for the distribution."
  type        = map(string)
  default     = {}
}
