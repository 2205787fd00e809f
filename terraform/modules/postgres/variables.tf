variable "identifier" {
  description = "RDS instance identifier (also names the subnet group, parameter group and security group)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,50}[a-z0-9]$", var.identifier)) && !strcontains(var.identifier, "--")
    error_message = "The identifier must be 2-52 characters of a-z 0-9 -, start with a letter, not end with '-' nor contain '--'."
  }
}

variable "vpc_id" {
  description = "VPC of the database."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "The vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  description = "Private subnets (at least two, in different availability zones) for the DB subnet group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Give at least two subnet ids (subnet-...)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the Postgres port (the publisher's)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", s))])
    error_message = "Each allowed_security_group_ids entry must look like sg-0123abcd."
  }
}

variable "engine_version" {
  description = "PostgreSQL engine version: major 15 (\"15\" lets RDS pick the newest 15.x)."
  type        = string
  default     = "15"

  validation {
    condition     = can(regex("^15(\\.[0-9]+)?$", var.engine_version))
    error_message = "The engine_version must be \"15\" or \"15.N\": HotPatch's migrations are tested on PostgreSQL 15."
  }
}

variable "instance_class" {
  description = "Instance class. The publisher's load is small; db.t4g.small suits most deployments."
  type        = string
  default     = "db.t4g.small"

  validation {
    condition     = can(regex("^db\\.[a-z0-9]+\\.[a-z0-9]+$", var.instance_class))
    error_message = "The instance_class must look like db.t4g.small."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage (GB)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage_gb >= 20 && var.allocated_storage_gb <= 65536
    error_message = "The allocated_storage_gb must be between 20 and 65536."
  }
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling (GB); 0 disables autoscaling."
  type        = number
  default     = 100

  validation {
    condition     = var.max_allocated_storage_gb == 0 || (var.max_allocated_storage_gb >= var.allocated_storage_gb && var.max_allocated_storage_gb <= 65536)
    error_message = "The max_allocated_storage_gb must be 0 or between allocated_storage_gb and 65536."
  }
}

variable "database_name" {
  description = "Database created for the publisher."
  type        = string
  default     = "hotpatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,62}$", var.database_name))
    error_message = "The database_name must start with a letter and use a-z 0-9 _ (max 63)."
  }
}

variable "username" {
  description = "Master user name."
  type        = string
  default     = "hotpatch"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,15}$", var.username)) && !contains(["postgres", "admin", "rdsadmin", "root"], var.username)
    error_message = "The username must be 1-16 characters of a-z 0-9 _, start with a letter, and not be a reserved name."
  }
}

variable "manage_master_user_password" {
  description = "Let RDS generate the master password and keep it in AWS Secrets Manager (recommended). When false, pass password."
  type        = bool
  default     = true
}

variable "password" {
  description = "Master password when manage_master_user_password is false (16-128 printable characters, no / @ \" or space). Stored in state: protect the state."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.password == null || can(regex("^[!-~]{16,128}$", var.password)) && !can(regex("[/@\"]", var.password))
    error_message = "The password must be 16-128 printable ASCII characters without space, '/', '@' or '\"'."
  }

  validation {
    condition     = var.manage_master_user_password || var.password != null
    error_message = "Set password, or leave manage_master_user_password = true."
  }
}

variable "kms_key_arn" {
  description = "KMS key for storage encryption; empty = the AWS-managed RDS key. Encryption is always on."
  type        = string
  default     = ""

  validation {
    condition     = var.kms_key_arn == "" || can(regex("^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "The kms_key_arn must be empty or a KMS key ARN."
  }
}

variable "multi_az" {
  description = "Standby in a second availability zone (automatic failover)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Refuse to delete the instance. Turn off deliberately, apply, then destroy."
  type        = bool
  default     = true
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot on deletion (only for throwaway environments)."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Automated backup (point-in-time restore) retention in days."
  type        = number
  default     = 14

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35 && floor(var.backup_retention_days) == var.backup_retention_days
    error_message = "The backup_retention_days must be between 1 and 35: backups cannot be disabled."
  }
}

variable "backup_window" {
  description = "Daily backup window (UTC, hh24:mi-hh24:mi)."
  type        = string
  default     = "03:00-04:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_window))
    error_message = "The backup_window must look like 03:00-04:00."
  }
}

variable "maintenance_window" {
  description = "Weekly maintenance window (UTC, ddd:hh24:mi-ddd:hh24:mi), outside the backup window."
  type        = string
  default     = "sun:04:30-sun:05:30"

  validation {
    condition     = can(regex("^(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]-(mon|tue|wed|thu|fri|sat|sun):([01][0-9]|2[0-3]):[0-5][0-9]$", var.maintenance_window))
    error_message = "The maintenance_window must look like sun:04:30-sun:05:30."
  }
}

variable "max_connections" {
  description = "max_connections parameter (the publisher uses a small pool per instance)."
  type        = number
  default     = 100

  validation {
    condition     = var.max_connections >= 20 && var.max_connections <= 5000
    error_message = "The max_connections must be between 20 and 5000."
  }
}

variable "tags" {
  description = "Tags for all resources."
  type        = map(string)
  default     = {}
}

variable "performance_insights" {
  description = "Enable Performance Insights (free 7-day retention) where the instance class supports it; it is left off on *.micro / *.small burstable classes."
  type        = bool
  default     = true
}
