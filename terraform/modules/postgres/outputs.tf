output "address" {
  description = "Host name of the database (private)."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Postgres port."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Database name."
  value       = var.database_name
}

output "username" {
  description = "Master user name."
  value       = var.username
}

output "database_url_without_password" {
  description = "libpq URL for DATABASE_URL with the password left out: add it from the secret (or use PGPASSWORD / a .pgpass file). TLS is required with verify-full."
  value       = "postgresql://${var.username}@${aws_db_instance.this.address}:${aws_db_instance.this.port}/${var.database_name}?sslmode=verify-full"
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the generated master credentials (JSON with username and password), or null when a password was passed in."
  value       = var.manage_master_user_password ? try(aws_db_instance.this.master_user_secret[0].secret_arn, null) : null
}

output "security_group_id" {
  description = "Security group of the database."
  value       = aws_security_group.db.id
}

output "instance_arn" {
  description = "RDS instance ARN."
  value       = aws_db_instance.this.arn
}
