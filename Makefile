# Targets: tools (build pinned tools into .tools/bin), unit (fast tests),
# e2e (end-to-end tests only), test (tools + every test), up (local stack).
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

GO_TEST_FLAGS ?= -timeout 45m

.PHONY: tools test unit e2e up

tools:
	tools/build.sh

unit:
	go test $(GO_TEST_FLAGS) $$(go list ./... | grep -v /e2e)

e2e: tools
	KOPSCALICO_E2E=1 go test $(GO_TEST_FLAGS) ./e2e/...

test: tools
	KOPSCALICO_E2E=1 go test $(GO_TEST_FLAGS) ./...

up:
	pulumi up
