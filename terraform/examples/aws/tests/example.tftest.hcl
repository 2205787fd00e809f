# The composition wires the modules together correctly.
mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/hotpatch" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/hotpatch-publisher:1" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hotpatch/publisher-AbCdEf" }
  }
  mock_resource "aws_security_group" {
    defaults = { id = "sg-0123456789abcdef0" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/mock" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

override_resource {
  target = module.bucket.aws_s3_bucket.this
  values = {
    arn                         = "arn:aws:s3:::hotpatch-example-bucket"
    id                          = "hotpatch-example-bucket"
    bucket_regional_domain_name = "hotpatch-example-bucket.s3.eu-west-1.amazonaws.com"
  }
}

override_resource {
  target = module.cdn.aws_cloudfront_distribution.this
  values = {
    arn         = "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456"
    domain_name = "d111111abcdef8.cloudfront.net"
  }
}

override_resource {
  target = module.edge.aws_lambda_function_url.edge
  values = { function_url = "https://abcdefghijklmnop.lambda-url.eu-west-1.on.aws/" }
}

variables {
  bucket_name        = "hotpatch-example-bucket"
  vpc_id             = "vpc-0123abcd"
  private_subnet_ids = ["subnet-0123abcd", "subnet-4567ef01"]
  admin_cidr_blocks  = ["10.20.0.0/16"]
  publisher_image    = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hotpatch-publisher:1.0.0"
  edge_zip_path      = "does-not-exist/hotpatch-edge-lambda.zip"
  trusted_keys       = ["11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]
}

run "composition" {
  command = apply

  assert {
    condition     = output.check_url == "https://d111111abcdef8.cloudfront.net/v1/check" && output.device_base_url == "https://d111111abcdef8.cloudfront.net"
    error_message = "Devices talk to the CDN."
  }

  assert {
    condition     = contains(flatten([for s in jsondecode(module.bucket.bucket_policy_json).Statement : try(s.Condition.StringEquals["AWS:SourceArn"], [])]), "arn:aws:cloudfront::123456789012:distribution/E2ABCDEF123456")
    error_message = "The bucket lets exactly this distribution read."
  }

  assert {
    condition     = module.edge.environment["HOTPATCH_STORAGE"] == "s3://hotpatch-example-bucket/" && module.publisher.environment["HOTPATCH_STORAGE"] == "s3://hotpatch-example-bucket/"
    error_message = "Edge and publisher use the same storage."
  }

  assert {
    condition     = module.edge.function_url_auth_type == "AWS_IAM"
    error_message = "The edge Function URL is only reachable through CloudFront."
  }

  assert {
    condition     = length(output.publisher_secret_arns) == 3
    error_message = "The three publisher secrets are created (empty)."
  }
}
