# hotpatch-publisher on ECS Fargate: one or more tasks from the image built
# with publisher/deploy/Dockerfile, in private subnets, reachable on the
# admin port only from the given CIDRs / security groups. Secrets come from
# Secrets Manager (never from task-definition plain text); the manifest key
# is written to a private tmpfs file by the entrypoint. The task role may
# read and write bundles/ and manifests/ and nothing else in the bucket.

data "aws_region" "current" {}

module "policy" {
  source = "../iam"

  bucket_arn               = var.bucket_arn
  prefix                   = var.storage_prefix
  kms_key_arn              = var.kms_key_arn
  publisher_write_prefixes = var.write_prefixes
}

locals {
  cluster_arn = var.ecs_cluster_arn == "" ? aws_ecs_cluster.this[0].arn : var.ecs_cluster_arn

  environment = merge(var.extra_environment, {
    HOTPATCH_LISTEN       = "0.0.0.0:${var.container_port}"
    HOTPATCH_STORAGE      = "s3://${var.bucket_name}/${var.storage_prefix}"
    AWS_REGION            = var.s3_region
    HOTPATCH_MANIFEST_KEY = "/run/hotpatch/manifest.key"
    HOTPATCH_TMPDIR       = "/var/tmp/hotpatch"
    }, var.s3_endpoint == "" ? {} : { HOTPATCH_S3_ENDPOINT = trimsuffix(var.s3_endpoint, "/") },
    length(var.edge_urls) == 0 ? {} : { HOTPATCH_EDGE_URLS = join(",", var.edge_urls) },
  )

  secrets = concat(
    [
      { name = "DATABASE_URL", valueFrom = var.database_url_secret_arn },
      { name = "JWT_SECRET", valueFrom = var.jwt_secret_arn },
      { name = "HOTPATCH_MANIFEST_KEY_DATA", valueFrom = var.manifest_key_secret_arn },
    ],
    var.sync_token_secret_arn == "" ? [] : [{ name = "HOTPATCH_SYNC_TOKEN", valueFrom = var.sync_token_secret_arn }],
    var.storage_credentials_secret_arn == "" ? [] : [
      { name = "AWS_ACCESS_KEY_ID", valueFrom = "${var.storage_credentials_secret_arn}:AWS_ACCESS_KEY_ID::" },
      { name = "AWS_SECRET_ACCESS_KEY", valueFrom = "${var.storage_credentials_secret_arn}:AWS_SECRET_ACCESS_KEY::" },
    ],
  )

  secret_arns = compact([
    var.database_url_secret_arn, var.jwt_secret_arn, var.manifest_key_secret_arn,
    var.sync_token_secret_arn, var.storage_credentials_secret_arn,
  ])
}

resource "aws_ecs_cluster" "this" {
  count = var.ecs_cluster_arn == "" ? 1 : 0
  name  = var.name
  tags  = var.tags

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "publisher" {
  name              = "/hotpatch/${var.name}/publisher"
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

# --- roles -----------------------------------------------------------------

locals {
  ecs_tasks_trust = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ecs-tasks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

# Execution role: what ECS itself needs to start the task (pull the image,
# read exactly these secrets, write the log group).
resource "aws_iam_role" "execution" {
  name               = "${var.name}-publisher-exec"
  assume_role_policy = local.ecs_tasks_trust
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "execution_ecr" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

resource "aws_iam_role_policy" "execution_secrets" {
  name = "read-publisher-secrets"
  role = aws_iam_role.execution.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid      = "ReadPublisherSecrets"
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = local.secret_arns
    }]
  })
}

# Task role: what the publisher process may do in AWS.
resource "aws_iam_role" "task" {
  name               = "${var.name}-publisher-task"
  assume_role_policy = local.ecs_tasks_trust
  tags               = var.tags
}

resource "aws_iam_role_policy" "task_storage" {
  name   = "hotpatch-storage-write"
  role   = aws_iam_role.task.id
  policy = module.policy.publisher_policy_json
}

# --- network -----------------------------------------------------------------

resource "aws_security_group" "publisher" {
  name        = "${var.name}-publisher"
  description = "HotPatch publisher admin API"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "cidr" {
  count = length(var.ingress_cidr_blocks)

  security_group_id = aws_security_group.publisher.id
  description       = "admin API from ${var.ingress_cidr_blocks[count.index]}"
  ip_protocol       = "tcp"
  from_port         = var.container_port
  to_port           = var.container_port
  cidr_ipv4         = var.ingress_cidr_blocks[count.index]
}

resource "aws_vpc_security_group_ingress_rule" "sg" {
  count = length(var.ingress_security_group_ids)

  security_group_id            = aws_security_group.publisher.id
  description                  = "admin API from an allowed security group"
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  referenced_security_group_id = var.ingress_security_group_ids[count.index]
}

# Outbound: HTTPS (S3, Secrets Manager, ECR, Logs, edges) and Postgres.
resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.publisher.id
  description       = "HTTPS to AWS APIs, storage and edges"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id = aws_security_group.publisher.id
  description       = "Postgres inside the VPC"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "0.0.0.0/0"
}

# --- task and service ----------------------------------------------------------

resource "aws_ecs_task_definition" "publisher" {
  family                   = "${var.name}-publisher"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.cpu)
  memory                   = tostring(var.memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn
  tags                     = var.tags

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  # Writable scratch: the manifest key file and the upload spool.
  volume {
    name = "run"
  }
  volume {
    name = "spool"
  }

  container_definitions = jsonencode([{
    name                   = "publisher"
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
    environment            = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets                = local.secrets
    mountPoints = [
      { sourceVolume = "run", containerPath = "/run/hotpatch", readOnly = false },
      { sourceVolume = "spool", containerPath = "/var/tmp/hotpatch", readOnly = false },
    ]
    linuxParameters = {
      initProcessEnabled = true
      capabilities       = { drop = ["ALL"] }
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.publisher.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "publisher"
      }
    }
  }])
}

resource "aws_ecs_service" "publisher" {
  name                   = "${var.name}-publisher"
  cluster                = local.cluster_arn
  task_definition        = aws_ecs_task_definition.publisher.arn
  desired_count          = var.desired_count
  launch_type            = "FARGATE"
  enable_execute_command = false
  propagate_tags         = "SERVICE"
  tags                   = var.tags

  # Rolling update: start the new task before stopping the old one.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = var.subnet_ids
    security_groups  = [aws_security_group.publisher.id]
    assign_public_ip = false
  }

  dynamic "load_balancer" {
    for_each = var.target_group_arn == "" ? [] : [1]
    content {
      target_group_arn = var.target_group_arn
      container_name   = "publisher"
      container_port   = var.container_port
    }
  }
}
