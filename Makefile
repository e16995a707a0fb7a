# Targets: plugin (the provider plugin into bin/), tools (pinned tools into
# .tools/bin), unit (fast tests), e2e (end-to-end tests only), test (the
# tools, then every test, real kops building beside them: tools/test.sh),
# up / preview / destroy / refresh (the stack STACK, default dev, through
# cmd/kopscalico; up and destroy show the preview and ask first).
# ARGS goes to the operation: make up ARGS=--yes applies without asking,
# make up ARGS=--skip-preflight leaves out the kops and AWS checks.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

GO_TEST_FLAGS ?= -timeout 60m

STACK ?= dev
ARGS ?=

.PHONY: plugin tools test unit e2e up preview destroy refresh pulumi-cli

# The provider plugin Pulumi.yaml points the engine at (plugins.providers).
plugin:
	go build -o bin/pulumi-resource-kopscalico ./cmd/pulumi-resource-kopscalico

tools:
	tools/build.sh

unit:
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /e2e)

e2e: tools
	KOPSCALICO_E2E=1 go test $(GO_TEST_FLAGS) ./e2e/...

test:
	tools/test.sh $(GO_TEST_FLAGS)

# The pulumi CLI: the one on PATH, else built from source into .tools/bin.
pulumi-cli:
	@command -v pulumi >/dev/null || tools/build.sh pulumi

up preview destroy refresh: pulumi-cli plugin
	go run ./cmd/kopscalico --stack $(STACK) $@ $(ARGS)
