# PostgreSQL 15 on RDS for the publisher: private (no public address, only
# the publisher's security group may connect), encrypted at rest, TLS
# enforced, backed up daily with point-in-time restore, protected from
# deletion by default. The master password is generated and kept in AWS
# Secrets Manager by RDS unless one is passed in.

locals {
  # Performance Insights is not offered on the smallest burstable classes.
  performance_insights = var.performance_insights && !can(regex("^db\\.t[234]g?\\.(micro|small)$", var.instance_class))
}

resource "aws_db_subnet_group" "this" {
  name        = var.identifier
  description = "HotPatch ${var.identifier} private subnets"
  subnet_ids  = var.subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "db" {
  name        = "${var.identifier}-db"
  description = "HotPatch Postgres: clients from the publisher only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "clients" {
  # count, not for_each: the ids are usually unknown until apply.
  count = length(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.db.id
  description                  = "Postgres from an allowed client security group"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = var.allowed_security_group_ids[count.index]
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.identifier}-pg15"
  family      = "postgres15"
  description = "HotPatch ${var.identifier}: TLS only, slow-query logging"
  tags        = var.tags

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }

  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  parameter {
    name         = "max_connections"
    value        = tostring(var.max_connections)
    apply_method = "pending-reboot"
  }
}

resource "aws_db_instance" "this" {
  identifier     = var.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.username
  port     = 5432

  manage_master_user_password = var.manage_master_user_password ? true : null
  password                    = var.manage_master_user_password ? null : var.password

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb == 0 ? null : var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn == "" ? null : var.kms_key_arn

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.db.id]
  publicly_accessible    = false
  multi_az               = var.multi_az
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period   = var.backup_retention_days
  backup_window             = var.backup_window
  maintenance_window        = var.maintenance_window
  copy_tags_to_snapshot     = true
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = var.skip_final_snapshot
  final_snapshot_identifier = var.skip_final_snapshot ? null : "${var.identifier}-final"
  delete_automated_backups  = false

  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  iam_database_authentication_enabled = true
  performance_insights_enabled        = local.performance_insights
  enabled_cloudwatch_logs_exports     = ["postgresql"]

  tags = var.tags
}
