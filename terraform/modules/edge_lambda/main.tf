# The HotPatch edge as an AWS Lambda custom runtime (provided.al2023). The
# zip's `bootstrap` starts `hotpatch-edge lambda`, which keeps its LMDB index
# under /tmp, syncs it from the manifests in the bucket and answers the
# Runtime API's events. The role may read manifests/ and lists/ and write
# its own log stream; nothing else. A Function URL exposes it, by default
# only to CloudFront (AWS_IAM + Origin Access Control, see the cdn module).

module "policy" {
  source = "../iam"

  bucket_arn  = var.bucket_arn
  prefix      = var.storage_prefix
  kms_key_arn = var.kms_key_arn
}

locals {
  # Flags for `hotpatch-edge lambda`; bootstrap passes HOTPATCH_EDGE_OPTS on.
  edge_opts = join(" ", compact([
    "--refresh ${var.refresh_seconds}",
    var.public_base_url == "" ? "" : "--public-base ${trimsuffix(var.public_base_url, "/")}",
    var.log_json ? "--log-json" : "",
  ]))

  environment = merge(
    var.extra_environment,
    {
      HOTPATCH_STORAGE      = "s3://${var.bucket_name}/${var.storage_prefix}"
      HOTPATCH_TRUSTED_KEYS = join(",", var.trusted_keys)
      HOTPATCH_EDGE_OPTS    = local.edge_opts
    },
    var.s3_endpoint == "" ? {} : { HOTPATCH_S3_ENDPOINT = trimsuffix(var.s3_endpoint, "/") },
    var.s3_region == "" ? {} : { HOTPATCH_S3_REGION = var.s3_region },
  )
  # Storage credentials outside IAM (R2): kept out of the `environment` output.
  secret_environment = var.s3_access_key_id == "" ? {} : {
    HOTPATCH_S3_ACCESS_KEY_ID     = var.s3_access_key_id
    HOTPATCH_S3_SECRET_ACCESS_KEY = var.s3_secret_access_key
  }
  log_group_name = "/aws/lambda/${var.name}"
}

resource "aws_iam_role" "edge" {
  name = "${var.name}-edge"
  tags = var.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "storage" {
  name   = "hotpatch-storage-read"
  role   = aws_iam_role.edge.id
  policy = module.policy.edge_policy_json
}

# Instead of AWSLambdaBasicExecutionRole (CreateLogGroup on *): the group
# exists already, the function may only add streams and events to it.
resource "aws_iam_role_policy" "logs" {
  name = "hotpatch-edge-logs"
  role = aws_iam_role.edge.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["${aws_cloudwatch_log_group.edge.arn}:*"]
    }]
  })
}

resource "aws_cloudwatch_log_group" "edge" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_lambda_function" "edge" {
  function_name    = var.name
  description      = "HotPatch edge: device update checks from signed manifests"
  role             = aws_iam_role.edge.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.architecture]
  filename         = var.zip_path
  source_code_hash = fileexists(var.zip_path) ? filebase64sha256(var.zip_path) : null
  memory_size      = var.memory_size
  timeout          = var.timeout_seconds

  reserved_concurrent_executions = var.reserved_concurrency

  # /tmp holds the LMDB index; 512 MB (the free default) is ample.
  ephemeral_storage {
    size = 512
  }

  environment {
    variables = merge(local.environment, local.secret_environment)
  }

  logging_config {
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.edge.name
  }

  tags = var.tags

  depends_on = [aws_iam_role_policy.logs, aws_iam_role_policy.storage]
}

resource "aws_lambda_function_url" "edge" {
  function_name      = aws_lambda_function.edge.function_name
  authorization_type = var.function_url_auth_type
  invoke_mode        = "BUFFERED"
}
