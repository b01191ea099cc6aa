#!/usr/bin/env bash
# End-to-end tests of `attention-mpi sdpa` (run by `make test-mpi`): its output file against
# `attention sdpa`'s on the same inputs for P = $MPI_PROCESS_COUNTS, and failures that must end
# every process with a non-zero status and one `error:` line, never a hang.
#
# Usage: run.sh BIN_DIR   (with MPIRUN, the mpirun command line with its timeout, and
# MPI_PROCESS_COUNTS set, as the Makefile does)
set -euo pipefail
bin="$1"
MPIRUN="${MPIRUN:-timeout 120 mpirun --oversubscribe --allow-run-as-root}"
MPI_PROCESS_COUNTS="${MPI_PROCESS_COUNTS:-2 3 4}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
check="$bin/RingAttentionCheck"
"$check" write-inputs "$work"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# name, tolerance, then the options shared by both commands
cases=(
  "q4|1e-5|--query $work/q4.npy --key $work/k4.npy --value $work/v4.npy --causal top-left"
  "q4nc|1e-5|--query $work/q4.npy --key $work/k4.npy --value $work/v4.npy"
  "q4vs|1e-5|--query $work/q4.npy --key $work/k4.npy --value $work/v4.npy --causal bottom-right --softcap 3 --sinks $work/s4.npy"
  "q3|1e-5|--query $work/q3.npy --key $work/k3.npy --value $work/v3.npy --causal bottom-right"
  "q3tl|1e-5|--query $work/q3.npy --key $work/k3.npy --value $work/v3.npy --causal top-left"
  "q16|1e-3|--query $work/q16.npy --key $work/k16.npy --value $work/v16.npy --causal top-left"
  "q2|1e-12|--query $work/q2.npy --key $work/k2.npy --value $work/v2.npy --causal bottom-right --scale 0.25"
)
for entry in "${cases[@]}"; do
  IFS='|' read -r name tolerance options <<<"$entry"
  # shellcheck disable=SC2086
  "$bin/attention" sdpa $options --output "$work/$name-expected.npy"
  for np in $MPI_PROCESS_COUNTS; do
    # shellcheck disable=SC2086
    status=0
    $MPIRUN -np "$np" "$bin/attention-mpi" sdpa $options --output "$work/$name-$np.npy" || status=$?
    if [ "$status" -ne 0 ]; then
      fail "attention-mpi sdpa $options at P=$np exited with $status"
      continue
    fi
    "$check" compare "$work/$name-$np.npy" "$work/$name-expected.npy" "$tolerance" >/dev/null \
      || fail "attention-mpi sdpa $options at P=$np differs from attention sdpa"
  done
done

# A failure must end every process with a non-zero status and exactly one `error:` line.
expect_failure() {
  local what="$1" pattern="$2"
  shift 2
  local status=0
  $MPIRUN -np 3 "$bin/attention-mpi" sdpa "$@" >"$work/out.txt" 2>"$work/err.txt" || status=$?
  local lines
  lines="$(grep -c '^error: ' "$work/err.txt" || true)"
  if [ "$status" -eq 0 ]; then
    fail "$what: exited 0"
  elif [ "$status" -eq 124 ]; then
    fail "$what: timed out (a process hung)"
  elif [ "$lines" -ne 1 ]; then
    fail "$what: $lines error lines"; cat "$work/err.txt"
  elif ! grep -q "^error: .*$pattern" "$work/err.txt"; then
    fail "$what: the error line does not mention '$pattern'"; cat "$work/err.txt"
  else
    echo "ok   $what: status $status, $(grep '^error: ' "$work/err.txt")"
  fi
}
head -c 100 "$work/k4.npy" >"$work/truncated.npy"
expect_failure "missing query file" "missing.npy" \
  --query "$work/missing.npy" --key "$work/k4.npy" --value "$work/v4.npy" --output "$work/o.npy"
expect_failure "truncated key file" "truncated.npy" \
  --query "$work/q4.npy" --key "$work/truncated.npy" --value "$work/v4.npy" --output "$work/o.npy"
expect_failure "mismatched ranks" "same rank" \
  --query "$work/q4.npy" --key "$work/k3.npy" --value "$work/v3.npy" --output "$work/o.npy"
expect_failure "mismatched dtypes" "dtype float32 but the query is float64" \
  --query "$work/q2.npy" --key "$work/q3.npy" --value "$work/v3.npy" --output "$work/o.npy"
expect_failure "sinks of the wrong shape" "needs one value per query head" \
  --query "$work/q3.npy" --key "$work/k3.npy" --value "$work/v3.npy" --sinks "$work/s4.npy" \
  --output "$work/o.npy"
# Fails on process 0 alone, after the computation: the others must not wait for it.
expect_failure "unwritable output" "no-such-directory" \
  --query "$work/q4.npy" --key "$work/k4.npy" --value "$work/v4.npy" \
  --output "$work/no-such-directory/o.npy"

if [ "$failures" -ne 0 ]; then
  echo "attention-mpi: $failures failures"
  exit 1
fi
echo "attention-mpi: output equals attention sdpa for P = $MPI_PROCESS_COUNTS; failures end every process"
