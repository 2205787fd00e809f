# edge-check/deploy/lambda.mk - hotpatch-edge packaged for AWS Lambda,
# included by the top-level Makefile (installation is in mk/install.mk).
#
#   make lambda-zip      $(B)/lambda/hotpatch-edge-lambda.zip

LAMBDA_ZIP := $(B)/lambda/hotpatch-edge-lambda.zip

lambda-zip: $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(B)/bin/hotpatch-edge edge-check/deploy/lambda-zip.sh edge-check/deploy/bootstrap.in
	bash edge-check/deploy/lambda-zip.sh $(B)/bin/hotpatch-edge $@

.PHONY: lambda-zip
