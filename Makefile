# The same commands CI runs. `make test` and `make bench` are all a fresh machine needs.
SHELL := /bin/bash
SWIFT ?= swift
BENCH_ARGS ?=
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config

.PHONY: test bench deps build release lint format clean

# Installs OpenBLAS, LAPACKE and pkg-config with apt-get when pkg-config cannot find them.
deps:
	@if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas lapacke; then \
	  echo "deps: openblas and lapacke found by pkg-config"; \
	else \
	  echo "deps: running: apt-get update && apt-get install -y $(APT_PACKAGES)"; \
	  SUDO=""; [ "$$(id -u)" -ne 0 ] && SUDO="sudo"; \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $(APT_PACKAGES); \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

test: deps
	$(SWIFT) build
	$(SWIFT) test

# Release build, then the benchmark (about 3 minutes on 2 cores); results go to bench-results/.
# Extra options: make bench BENCH_ARGS="--quick" (see .build/release/attention-bench --help).
bench: release
	.build/release/attention-bench $(BENCH_ARGS)

lint:
	$(SWIFT) format lint --strict -r Sources Tests

format:
	$(SWIFT) format -i -r Sources Tests

clean:
	rm -rf .build
