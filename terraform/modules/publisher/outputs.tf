output "security_group_id" {
  description = "Security group of the publisher tasks; allow it in the postgres module (allowed_security_group_ids)."
  value       = aws_security_group.publisher.id
}

output "task_role_arn" {
  description = "Task role (read/write bundles/ and manifests/, no delete)."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "Execution role (image pull, the listed secrets, logs)."
  value       = aws_iam_role.execution.arn
}

output "cluster_arn" {
  description = "ECS cluster the service runs in."
  value       = local.cluster_arn
}

output "service_name" {
  description = "ECS service name (aws ecs update-service --force-new-deployment to roll)."
  value       = aws_ecs_service.publisher.name
}

output "task_definition_arn" {
  description = "Current task definition revision."
  value       = aws_ecs_task_definition.publisher.arn
}

output "log_group_name" {
  description = "CloudWatch Logs group of the publisher."
  value       = aws_cloudwatch_log_group.publisher.name
}

output "environment" {
  description = "Non-secret environment of the publisher container."
  value       = local.environment
}
