# The two commands a newcomer needs:
#   make run    start the server on embedded SQLite (same as `go run . server`)
#   make test   install what the tests need, start throwaway services, run every test
GO ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# Leave out code the binary never calls (gin's msgpack codec, urfave/cli's
# man page writer) and their package initialisers; same in goreleaser.yaml.
TAGS := nomsgpack,urfave_cli_no_docs

# Every release target builds and vets: the server, client and console run on
# macOS too; the agents (dstack shim/runner) are Linux-only.
PLATFORMS := linux/amd64 linux/arm64 darwin/amd64 darwin/arm64

GORELEASER ?= goreleaser
IMAGE ?= dstack:dev

.PHONY: run build test test-go chaos cross bench lint fmt tidy image release-check release-snapshot

run:
	$(GO) run . server

build:
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags "$(LDFLAGS)" -o dstack .

test:
	bash .ci/test.sh

# chaos runs only the chaos test (server replicas killed with -9 on one
# PostgreSQL database) and prints its figures; `make test` runs it too.
chaos:
	bash .ci/chaos.sh

# test-go runs the Go tests alone, with whatever services are already up.
test-go:
	$(GO) test ./...

cross:
	@for p in $(PLATFORMS); do \
		echo "==> $$p: go build, go vet"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -tags $(TAGS) -o /dev/null . || exit 1; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet ./... || exit 1; \
	done

# image builds the server image from ./dstack on the local Docker Engine
# (what goreleaser does per architecture, without a registry).
image: build
	server/deploy/images.sh $(IMAGE) linux/$$($(GO) env GOARCH)=./dstack

# Release tooling (not part of `make test`): goreleaser v2 on PATH
# (go install github.com/goreleaser/goreleaser/v2@v2.17.0).
release-check:
	$(GORELEASER) check

# Without docker buildx, goreleaser skips the images and the classic
# builder makes them from dist/'s Linux binaries.
release-snapshot:
	@if docker buildx version >/dev/null 2>&1; then \
		$(GORELEASER) release --snapshot --clean --skip=publish; \
	else \
		$(GORELEASER) release --snapshot --clean --skip=publish,docker && \
		server/deploy/images.sh dstackgo/dstack:snapshot \
			linux/amd64=$$(ls dist/dstack_linux_amd64*/dstack) linux/arm64=$$(ls dist/dstack_linux_arm64*/dstack); \
	fi

bench:
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

tidy:
	$(GO) mod tidy
