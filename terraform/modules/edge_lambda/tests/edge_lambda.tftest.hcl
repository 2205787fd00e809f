# The edge may only read manifests/ and lists/; it runs on the custom
# runtime with the trusted keys and storage it needs; bad input is refused.
mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/hotpatch-edge-edge" }
  }

  override_resource {
    target = aws_cloudwatch_log_group.edge
    values = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hotpatch-edge" }
  }
}

variables {
  name         = "hotpatch-edge"
  zip_path     = "build/lambda/hotpatch-edge-lambda.zip"
  bucket_name  = "hotpatch-test"
  bucket_arn   = "arn:aws:s3:::hotpatch-test"
  trusted_keys = ["11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="]
}

run "role_is_read_only_on_manifests_and_lists" {
  command = apply

  assert {
    condition = length(setintersection(
      toset(flatten([for s in jsondecode(aws_iam_role_policy.storage.policy).Statement : s.Action])),
      toset(["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:*", "*"])
    )) == 0
    error_message = "The edge role must have no s3:PutObject / s3:DeleteObject (or wildcard)."
  }

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.storage.policy).Statement : s.Resource if contains(s.Action, "s3:GetObject")
    ])) == toset(["arn:aws:s3:::hotpatch-test/manifests/*", "arn:aws:s3:::hotpatch-test/lists/*"])
    error_message = "The edge reads manifests/* and lists/* only (never bundles/)."
  }

  assert {
    condition     = flatten([for s in jsondecode(aws_iam_role_policy.logs.policy).Statement : s.Resource]) == ["arn:aws:logs:eu-west-1:123456789012:log-group:/aws/lambda/hotpatch-edge:*"]
    error_message = "Log rights are limited to the function's own log group."
  }

  assert {
    condition     = !strcontains(aws_iam_role_policy.logs.policy, "CreateLogGroup")
    error_message = "The function may not create log groups."
  }

  assert {
    condition     = aws_lambda_function.edge.runtime == "provided.al2023" && aws_lambda_function.edge.handler == "bootstrap"
    error_message = "The edge runs on the provided.al2023 custom runtime."
  }

  assert {
    condition = (aws_lambda_function.edge.environment[0].variables["HOTPATCH_STORAGE"] == "s3://hotpatch-test/" &&
    aws_lambda_function.edge.environment[0].variables["HOTPATCH_TRUSTED_KEYS"] == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=")
    error_message = "Storage URL and trusted keys reach the function environment."
  }

  assert {
    condition     = aws_lambda_function.edge.environment[0].variables["HOTPATCH_EDGE_OPTS"] == "--refresh 30 --log-json"
    error_message = "The refresh interval and JSON logs reach the edge's flags."
  }

  assert {
    condition     = aws_cloudwatch_log_group.edge.retention_in_days == 14 && aws_cloudwatch_log_group.edge.name == "/aws/lambda/hotpatch-edge"
    error_message = "The log group has a retention."
  }

  assert {
    condition     = aws_lambda_function_url.edge.authorization_type == "AWS_IAM"
    error_message = "By default the Function URL only accepts signed (CloudFront OAC) requests."
  }
}

run "rotation_and_r2_endpoint" {
  command = apply

  variables {
    storage_prefix       = "ota/"
    s3_endpoint          = "https://0123456789abcdef.r2.cloudflarestorage.com"
    s3_region            = "auto"
    trusted_keys         = ["11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="]
    public_base_url      = "https://ota.example.com/"
    refresh_seconds      = 10
    s3_access_key_id     = "0123456789abcdef0123456789abcdef"
    s3_secret_access_key = "r2-secret-value"
  }

  assert {
    condition     = aws_lambda_function.edge.environment[0].variables["HOTPATCH_S3_ACCESS_KEY_ID"] == "0123456789abcdef0123456789abcdef" && aws_lambda_function.edge.environment[0].variables["HOTPATCH_S3_SECRET_ACCESS_KEY"] == "r2-secret-value"
    error_message = "R2 credentials reach the function under the names bootstrap maps."
  }

  assert {
    condition     = !contains(keys(output.environment), "HOTPATCH_S3_SECRET_ACCESS_KEY") && !contains(keys(output.environment), "HOTPATCH_S3_ACCESS_KEY_ID")
    error_message = "The environment output never carries the storage secret."
  }

  assert {
    condition     = aws_lambda_function.edge.environment[0].variables["HOTPATCH_EDGE_OPTS"] == "--refresh 10 --public-base https://ota.example.com --log-json"
    error_message = "The public base URL (without trailing slash) reaches the edge's flags."
  }

  assert {
    condition = (aws_lambda_function.edge.environment[0].variables["HOTPATCH_TRUSTED_KEYS"] == "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=,PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=" &&
      aws_lambda_function.edge.environment[0].variables["HOTPATCH_S3_ENDPOINT"] == "https://0123456789abcdef.r2.cloudflarestorage.com" &&
      aws_lambda_function.edge.environment[0].variables["HOTPATCH_S3_REGION"] == "auto" &&
    aws_lambda_function.edge.environment[0].variables["HOTPATCH_STORAGE"] == "s3://hotpatch-test/ota/")
    error_message = "Two keys during rotation, R2 endpoint and region reach the environment."
  }

  assert {
    condition     = !contains(keys(aws_lambda_function.edge.environment[0].variables), "AWS_REGION")
    error_message = "AWS_REGION is reserved by Lambda and must not be set."
  }
}

run "rejects_bad_trusted_key" {
  command = plan

  variables {
    trusted_keys = ["not-a-key"]
  }

  expect_failures = [var.trusted_keys]
}

run "rejects_no_trusted_key" {
  command = plan

  variables {
    trusted_keys = []
  }

  expect_failures = [var.trusted_keys]
}

run "rejects_reserved_environment" {
  command = plan

  variables {
    extra_environment = { AWS_SECRET_ACCESS_KEY = "x" }
  }

  expect_failures = [var.extra_environment]
}

run "rejects_bad_retention" {
  command = plan

  variables {
    log_retention_days = 10
  }

  expect_failures = [var.log_retention_days]
}

run "rejects_long_timeout" {
  command = plan

  variables {
    timeout_seconds = 300
  }

  expect_failures = [var.timeout_seconds]
}

run "rejects_http_public_base" {
  command = plan

  variables {
    public_base_url = "http://ota.example.com"
  }

  expect_failures = [var.public_base_url]
}

run "rejects_half_credentials" {
  command = plan

  variables {
    s3_access_key_id = "0123456789abcdef0123456789abcdef"
  }

  expect_failures = [var.s3_secret_access_key]
}
