# The R2 composition manages no S3 bucket and hands the R2 endpoint,
# region and credentials to the edge and the publisher.
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

variables {
  cloudflare_account_id     = "0123456789abcdef0123456789abcdef"
  r2_bucket_name            = "acme-hotpatch"
  device_base_url           = "https://ota.example.com"
  edge_r2_access_key_id     = "0123456789abcdef0123456789abcdef"
  edge_r2_secret_access_key = "r2-read-only-secret"
  vpc_id                    = "vpc-0123abcd"
  private_subnet_ids        = ["subnet-0123abcd", "subnet-4567ef01"]
  publisher_image           = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hotpatch-publisher:1.0.0"
  edge_zip_path             = "does-not-exist/hotpatch-edge-lambda.zip"
  trusted_keys              = ["11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]
}

run "r2_composition" {
  command = apply

  assert {
    condition     = module.bucket.created == false && output.storage_environment["AWS_REGION"] == "auto"
    error_message = "No S3 bucket is managed; R2 uses region auto."
  }

  assert {
    condition = (module.edge.environment["HOTPATCH_S3_ENDPOINT"] == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com" &&
      module.edge.environment["HOTPATCH_S3_REGION"] == "auto" &&
    module.edge.environment["HOTPATCH_STORAGE"] == "s3://acme-hotpatch/")
    error_message = "The edge reads the R2 bucket through the R2 endpoint."
  }

  assert {
    condition     = strcontains(module.edge.environment["HOTPATCH_EDGE_OPTS"], "--public-base https://ota.example.com")
    error_message = "Simple check answers carry absolute URLs on the device domain."
  }

  assert {
    condition     = module.publisher.environment["HOTPATCH_S3_ENDPOINT"] == "https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com" && module.publisher.environment["AWS_REGION"] == "auto"
    error_message = "The publisher writes to R2."
  }

  assert {
    condition     = length(output.publisher_secret_arns) == 4 && contains(keys(output.publisher_secret_arns), "r2-credentials")
    error_message = "The publisher's R2 token comes from its own secret."
  }

  assert {
    condition     = module.edge.function_url_auth_type == "NONE"
    error_message = "Without CloudFront the edge URL is public."
  }
}

run "rejects_bad_account_id" {
  command = plan

  variables {
    cloudflare_account_id = "not-an-account"
  }

  expect_failures = [var.cloudflare_account_id]
}
