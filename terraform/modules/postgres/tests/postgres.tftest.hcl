# The database must be private, encrypted, backed up and hard to delete.
mock_provider "aws" {
  mock_resource "aws_db_instance" {
    defaults = {
      address            = "hotpatch.abcdefghij.eu-west-1.rds.amazonaws.com"
      port               = 5432
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1", kms_key_id = "", secret_status = "active" }]
    }
  }
}

variables {
  identifier                 = "hotpatch"
  vpc_id                     = "vpc-0123abcd"
  subnet_ids                 = ["subnet-0123abcd", "subnet-4567ef01"]
  allowed_security_group_ids = ["sg-0123abcd"]
}

run "private_encrypted_protected" {
  command = apply

  assert {
    condition     = aws_db_instance.this.publicly_accessible == false
    error_message = "The database must not be publicly accessible."
  }

  assert {
    condition     = aws_db_instance.this.storage_encrypted == true
    error_message = "Storage must be encrypted."
  }

  assert {
    condition     = aws_db_instance.this.engine == "postgres" && startswith(aws_db_instance.this.engine_version, "15")
    error_message = "The engine is PostgreSQL 15."
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection == true && aws_db_instance.this.skip_final_snapshot == false && aws_db_instance.this.backup_retention_period >= 1
    error_message = "By default: deletion protection, a final snapshot and backups."
  }

  assert {
    condition     = aws_db_instance.this.manage_master_user_password == true && aws_db_instance.this.password == null
    error_message = "By default the password is generated and held by Secrets Manager, never in the configuration."
  }

  assert {
    condition     = one([for p in aws_db_parameter_group.this.parameter : p.value if p.name == "rds.force_ssl"]) == "1"
    error_message = "TLS must be enforced."
  }

  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.clients : r.referenced_security_group_id] == ["sg-0123abcd"] && alltrue([for r in aws_vpc_security_group_ingress_rule.clients : r.cidr_ipv4 == null && r.from_port == 5432])
    error_message = "Only the publisher's security group may connect, on 5432, never a CIDR."
  }

  assert {
    condition     = output.database_url_without_password == "postgresql://hotpatch@hotpatch.abcdefghij.eu-west-1.rds.amazonaws.com:5432/hotpatch?sslmode=verify-full"
    error_message = "The DATABASE_URL template points at the instance with TLS verification."
  }

  assert {
    condition     = output.master_user_secret_arn == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-1"
    error_message = "The generated secret is exported."
  }
}

run "performance_insights_where_supported" {
  command = plan

  variables {
    instance_class = "db.m6g.large"
  }

  assert {
    condition     = aws_db_instance.this.performance_insights_enabled == true
    error_message = "Performance Insights is on for classes that support it."
  }
}

run "explicit_password_is_sensitive_and_used" {
  command = plan

  variables {
    manage_master_user_password = false
    password                    = "correct-horse-battery-staple"
    deletion_protection         = false
    skip_final_snapshot         = true
  }

  assert {
    condition     = aws_db_instance.this.password == "correct-horse-battery-staple" && aws_db_instance.this.manage_master_user_password == null
    error_message = "A passed-in password is used instead of a managed secret."
  }

  assert {
    condition     = aws_db_instance.this.deletion_protection == false
    error_message = "Deletion protection follows the variable."
  }

  assert {
    condition     = aws_db_instance.this.performance_insights_enabled == false
    error_message = "Performance Insights stays off on db.t4g.small."
  }
}

run "rejects_missing_password" {
  command = plan

  variables {
    manage_master_user_password = false
  }

  expect_failures = [var.password]
}

run "rejects_short_password" {
  command = plan

  variables {
    manage_master_user_password = false
    password                    = "short"
  }

  expect_failures = [var.password]
}

run "rejects_other_major_version" {
  command = plan

  variables {
    engine_version = "16.2"
  }

  expect_failures = [var.engine_version]
}

run "rejects_single_subnet" {
  command = plan

  variables {
    subnet_ids = ["subnet-0123abcd"]
  }

  expect_failures = [var.subnet_ids]
}

run "rejects_no_backups" {
  command = plan

  variables {
    backup_retention_days = 0
  }

  expect_failures = [var.backup_retention_days]
}
