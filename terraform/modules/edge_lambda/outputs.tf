output "function_name" {
  description = "Lambda function name (pass to the cdn module's edge_function_name)."
  value       = aws_lambda_function.edge.function_name
}

output "function_arn" {
  description = "Lambda function ARN."
  value       = aws_lambda_function.edge.arn
}

output "function_url" {
  description = "Function URL (https://ID.lambda-url.REGION.on.aws/); pass to the cdn module's edge_function_url."
  value       = aws_lambda_function_url.edge.function_url
}

output "function_url_auth_type" {
  description = "Authorization type of the Function URL."
  value       = aws_lambda_function_url.edge.authorization_type
}

output "role_arn" {
  description = "Execution role ARN (read-only on manifests/ and lists/)."
  value       = aws_iam_role.edge.arn
}

output "role_name" {
  description = "Execution role name."
  value       = aws_iam_role.edge.name
}

output "log_group_name" {
  description = "CloudWatch Logs group of the function."
  value       = aws_cloudwatch_log_group.edge.name
}

output "environment" {
  description = "Environment the function runs with, without the storage credentials."
  value       = local.environment
}
