variable "name" {
  description = "Deployment name: ECS service, task family, roles, security group and log group derive from it."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "The name must be 3-32 characters of a-z 0-9 -, starting with a letter."
  }
}

variable "image" {
  description = "Publisher container image built from publisher/deploy/Dockerfile, pinned by tag or digest (never :latest)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9./_:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[0-9a-f]{64})$", var.image)) && !endswith(var.image, ":latest")
    error_message = "The image must be REPOSITORY:TAG or REPOSITORY@sha256:DIGEST, and not :latest."
  }
}

variable "ecs_cluster_arn" {
  description = "Existing ECS cluster ARN; empty creates one (with Container Insights)."
  type        = string
  default     = ""

  validation {
    condition     = var.ecs_cluster_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:ecs:[a-z0-9-]+:[0-9]{12}:cluster/.+$", var.ecs_cluster_arn))
    error_message = "The ecs_cluster_arn must be empty or an ECS cluster ARN."
  }
}

variable "vpc_id" {
  description = "VPC of the service."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "The vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the tasks (with a NAT gateway or VPC endpoints for S3, ECR, Secrets Manager and Logs)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 1 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Give at least one subnet id (subnet-...)."
  }
}

variable "ingress_cidr_blocks" {
  description = "CIDR blocks allowed to reach the admin API port (VPN, CI runners, load balancer subnets). Never 0.0.0.0/0: put a load balancer in front instead."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.ingress_cidr_blocks : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "Each ingress_cidr_blocks entry must be a CIDR block, and 0.0.0.0/0 is refused."
  }
}

variable "ingress_security_group_ids" {
  description = "Security groups (for example a load balancer's) allowed to reach the admin API port."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.ingress_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "Each ingress_security_group_ids entry must look like sg-0123abcd."
  }
}

variable "target_group_arn" {
  description = "Optional load balancer target group (health check path /healthz) to register the tasks in."
  type        = string
  default     = ""
}

variable "container_port" {
  description = "Port the publisher listens on inside the task (HOTPATCH_LISTEN=0.0.0.0:PORT)."
  type        = number
  default     = 8080

  validation {
    condition     = var.container_port >= 1024 && var.container_port <= 65535
    error_message = "The container_port must be between 1024 and 65535 (the container runs as a non-root user)."
  }
}

variable "cpu" {
  description = "Fargate CPU units."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.cpu)
    error_message = "The cpu must be one of 256, 512, 1024, 2048, 4096."
  }
}

variable "memory" {
  description = "Fargate memory (MiB); must be valid for the chosen cpu."
  type        = number
  default     = 1024

  validation {
    condition = (
      (var.cpu == 256 && contains([512, 1024, 2048], var.memory)) ||
      (var.cpu == 512 && var.memory >= 1024 && var.memory <= 4096 && var.memory % 1024 == 0) ||
      (var.cpu == 1024 && var.memory >= 2048 && var.memory <= 8192 && var.memory % 1024 == 0) ||
      (var.cpu == 2048 && var.memory >= 4096 && var.memory <= 16384 && var.memory % 1024 == 0) ||
      (var.cpu == 4096 && var.memory >= 8192 && var.memory <= 30720 && var.memory % 1024 == 0)
    )
    error_message = "The memory is not a valid Fargate size for this cpu (e.g. 256: 512-2048, 512: 1024-4096, 1024: 2048-8192 MiB)."
  }
}

variable "desired_count" {
  description = "Number of publisher tasks. More than one is safe: manifest writes are conditional PUTs."
  type        = number
  default     = 1

  validation {
    condition     = var.desired_count >= 0 && var.desired_count <= 10 && floor(var.desired_count) == var.desired_count
    error_message = "The desired_count must be a whole number between 0 and 10."
  }
}

variable "bucket_name" {
  description = "Storage bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "The bucket_name must be a valid S3 bucket name."
  }
}

variable "bucket_arn" {
  description = "Storage bucket ARN."
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
  description = "HOTPATCH_S3_ENDPOINT; empty for AWS S3 in region s3_region."
  type        = string
  default     = ""

  validation {
    condition     = var.s3_endpoint == "" || can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?/?$", var.s3_endpoint))
    error_message = "The s3_endpoint must be empty or an https:// URL with no path."
  }
}

variable "s3_region" {
  description = "Signing region of the bucket (AWS_REGION for the publisher; \"auto\" for R2)."
  type        = string

  validation {
    condition     = var.s3_region == "auto" || can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.s3_region))
    error_message = "The s3_region must be \"auto\" or an AWS region name."
  }
}

variable "write_prefixes" {
  description = "Storage folders the publisher may write (see the iam module)."
  type        = list(string)
  default     = ["bundles/", "manifests/"]
}

variable "kms_key_arn" {
  description = "KMS key of the bucket when it uses SSE-KMS, else empty."
  type        = string
  default     = ""
}

variable "database_url_secret_arn" {
  description = "Secrets Manager secret whose value is the full DATABASE_URL (libpq URL with password, sslmode=verify-full)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.database_url_secret_arn))
    error_message = "The database_url_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "jwt_secret_arn" {
  description = "Secrets Manager secret holding JWT_SECRET (at least 32 random bytes)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.jwt_secret_arn))
    error_message = "The jwt_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "manifest_key_secret_arn" {
  description = "Secrets Manager secret holding the manifest secret key file's content. The container entrypoint writes it to a private tmpfs file and points HOTPATCH_MANIFEST_KEY at it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.manifest_key_secret_arn))
    error_message = "The manifest_key_secret_arn must be a Secrets Manager secret ARN."
  }
}

variable "sync_token_secret_arn" {
  description = "Optional secret holding HOTPATCH_SYNC_TOKEN (Bearer for POST /v1/sync on edge replicas)."
  type        = string
  default     = ""

  validation {
    condition     = var.sync_token_secret_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.sync_token_secret_arn))
    error_message = "The sync_token_secret_arn must be empty or a Secrets Manager secret ARN."
  }
}

variable "storage_credentials_secret_arn" {
  description = "Optional secret (JSON with keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) for S3/R2 access keys. Needed for R2; on AWS leave it empty and the storage client uses the task role's credentials (ECS container endpoint)."
  type        = string
  default     = ""

  validation {
    condition     = var.storage_credentials_secret_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.storage_credentials_secret_arn))
    error_message = "The storage_credentials_secret_arn must be empty or a Secrets Manager secret ARN."
  }
}

variable "edge_urls" {
  description = "Edge replica base URLs notified with POST /v1/sync after each manifest change (HOTPATCH_EDGE_URLS). Lambda edges poll instead."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for u in var.edge_urls : can(regex("^https?://[A-Za-z0-9.-]+(:[0-9]+)?/?$", u))])
    error_message = "Each edge URL must be http(s)://host[:port]."
  }
}

variable "extra_environment" {
  description = "Additional non-secret settings (e.g. HOTPATCH_HALT_THRESHOLD_PCT, HOTPATCH_LOG_JSON)."
  type        = map(string)
  default     = {}

  validation {
    condition = alltrue([for k in keys(var.extra_environment) :
    can(regex("^[A-Z][A-Z0-9_]*$", k)) && !contains(["DATABASE_URL", "JWT_SECRET", "HOTPATCH_SYNC_TOKEN", "HOTPATCH_BOOTSTRAP_TOKEN", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "HOTPATCH_MANIFEST_KEY_DATA"], k)])
    error_message = "The extra_environment keys must be upper-case names and not secrets (pass those as secret ARNs)."
  }
}

variable "log_retention_days" {
  description = "CloudWatch Logs retention."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "The log_retention_days must be one of the values CloudWatch Logs accepts."
  }
}

variable "tags" {
  description = "Tags for all resources."
  type        = map(string)
  default     = {}
}
