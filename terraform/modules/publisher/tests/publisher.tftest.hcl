# The publisher may write bundles/ and manifests/ (never delete), gets its
# secrets from Secrets Manager, runs read-only and non-public.
mock_provider "aws" {
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/hotpatch-publisher" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:cluster/hotpatch" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:eu-west-1:123456789012:task-definition/hotpatch-publisher:1" }
  }
  mock_data "aws_region" {
    defaults = { name = "eu-west-1" }
  }
}

variables {
  name                    = "hotpatch"
  image                   = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/hotpatch-publisher:1.0.0"
  vpc_id                  = "vpc-0123abcd"
  subnet_ids              = ["subnet-0123abcd"]
  ingress_cidr_blocks     = ["10.0.0.0/16"]
  bucket_name             = "hotpatch-test"
  bucket_arn              = "arn:aws:s3:::hotpatch-test"
  s3_region               = "eu-west-1"
  database_url_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hotpatch/database-url"
  jwt_secret_arn          = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hotpatch/jwt"
  manifest_key_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hotpatch/manifest-key"
}

run "least_privilege_and_secrets" {
  command = apply

  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.task_storage.policy).Statement : s.Resource if contains(s.Action, "s3:PutObject")
    ])) == toset(["arn:aws:s3:::hotpatch-test/bundles/*", "arn:aws:s3:::hotpatch-test/manifests/*"])
    error_message = "The publisher writes bundles/* and manifests/* only."
  }

  assert {
    condition     = !contains(flatten([for s in jsondecode(aws_iam_role_policy.task_storage.policy).Statement : s.Action]), "s3:DeleteObject")
    error_message = "The publisher cannot delete objects."
  }

  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.execution_secrets.policy).Statement : s.Resource])) == toset([var.database_url_secret_arn, var.jwt_secret_arn, var.manifest_key_secret_arn])
    error_message = "The execution role reads exactly the configured secrets."
  }

  assert {
    condition = alltrue([
      for e in jsondecode(aws_ecs_task_definition.publisher.container_definitions)[0].environment :
      !contains(["DATABASE_URL", "JWT_SECRET", "HOTPATCH_SYNC_TOKEN", "AWS_SECRET_ACCESS_KEY", "HOTPATCH_MANIFEST_KEY_DATA"], e.name)
    ])
    error_message = "No secret may appear as plain environment in the task definition."
  }

  assert {
    condition     = toset([for s in jsondecode(aws_ecs_task_definition.publisher.container_definitions)[0].secrets : s.name]) == toset(["DATABASE_URL", "JWT_SECRET", "HOTPATCH_MANIFEST_KEY_DATA"])
    error_message = "Secrets are injected from Secrets Manager."
  }

  assert {
    condition     = jsondecode(aws_ecs_task_definition.publisher.container_definitions)[0].readonlyRootFilesystem == true
    error_message = "The container's root filesystem is read-only."
  }

  assert {
    condition     = one([for e in jsondecode(aws_ecs_task_definition.publisher.container_definitions)[0].environment : e.value if e.name == "HOTPATCH_LISTEN"]) == "0.0.0.0:8080"
    error_message = "The publisher listens on the container port."
  }

  assert {
    condition     = aws_ecs_service.publisher.network_configuration[0].assign_public_ip == false
    error_message = "Tasks get no public IP."
  }

  assert {
    condition     = [for r in aws_vpc_security_group_ingress_rule.cidr : r.cidr_ipv4] == ["10.0.0.0/16"] && alltrue([for r in aws_vpc_security_group_ingress_rule.cidr : r.from_port == 8080 && r.to_port == 8080])
    error_message = "Only the given CIDR reaches the admin port."
  }
}

run "storage_credentials_from_secret" {
  command = apply

  variables {
    storage_credentials_secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hotpatch/r2"
    s3_endpoint                    = "https://0123456789abcdef.r2.cloudflarestorage.com"
    s3_region                      = "auto"
    edge_urls                      = ["https://edge-1.example.com", "https://edge-2.example.com"]
  }

  assert {
    condition     = one([for s in jsondecode(aws_ecs_task_definition.publisher.container_definitions)[0].secrets : s.valueFrom if s.name == "AWS_SECRET_ACCESS_KEY"]) == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:hotpatch/r2:AWS_SECRET_ACCESS_KEY::"
    error_message = "Access keys come from the JSON secret."
  }

  assert {
    condition     = aws_ecs_task_definition.publisher.container_definitions != null && output.environment["HOTPATCH_EDGE_URLS"] == "https://edge-1.example.com,https://edge-2.example.com" && output.environment["AWS_REGION"] == "auto"
    error_message = "Edge URLs and the R2 region reach the environment."
  }
}

run "rejects_latest_image" {
  command = plan

  variables {
    image = "hotpatch/publisher:latest"
  }

  expect_failures = [var.image]
}

run "rejects_open_ingress" {
  command = plan

  variables {
    ingress_cidr_blocks = ["0.0.0.0/0"]
  }

  expect_failures = [var.ingress_cidr_blocks]
}

run "rejects_invalid_fargate_size" {
  command = plan

  variables {
    cpu    = 256
    memory = 4096
  }

  expect_failures = [var.memory]
}

run "rejects_plaintext_secret_in_environment" {
  command = plan

  variables {
    extra_environment = { JWT_SECRET = "0123456789abcdef0123456789abcdef" }
  }

  expect_failures = [var.extra_environment]
}
