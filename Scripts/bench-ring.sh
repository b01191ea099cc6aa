#!/usr/bin/env bash
# `make bench-ring`: ring attention with attention-mpi at P = 1, 2, 4 against `attention sdpa`
# in one process, on one causal problem [B, H, N, D] in float32 (default 1×16×32768×64, 128 MiB
# per tensor). For each run: the wall time of the computation as `/usr/bin/time` sees each
# process (file reading and writing included), each process's peak resident memory, and the
# bytes each process sends around the ring (keys and values: P − 1 blocks of its neighbours'
# rows, computed from the zigzag sharding). The P processes share this machine's cores
# (attention-mpi gives each cores/P threads; OPENBLAS_NUM_THREADS is set to match).
#
# Usage: bench-ring.sh BIN_DIR [B H N D]   (MPIRUN as in the Makefile)
set -euo pipefail
bin="$1"
B="${2:-1}" H="${3:-16}" N="${4:-32768}" D="${5:-64}"
MPIRUN="${MPIRUN:-mpirun --oversubscribe --allow-run-as-root}"
cores="$(nproc)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/RingAttentionCheck" write-inputs "$work" "$B" "$H" "$N" "$D"
inputs=(--query "$work/q.npy" --key "$work/k.npy" --value "$work/v.npy" --causal top-left)
tensor_mib=$((B * H * N * D * 4 / 1048576))

echo "ring attention, causal, float32 [B, H, N, D] = [$B, $H, $N, $D] ($tensor_mib MiB per tensor)"
echo "CPU: $(lscpu | sed -n "s/^Model name: *//p" | head -1) (family $(lscpu | sed -n "s/^CPU family: *//p"), model $(lscpu | sed -n "s/^Model: *//p")), $cores cores"
echo
echo "| run | wall time (s) | peak RSS per process (MiB) | sent per process (MiB) |"
echo "|---|---|---|---|"

# Bytes process r sends: at steps s = 0..P−2 the block of part (r − s) mod P, whose rows under
# the zigzag sharding are runs p and 2P − 1 − p of 2P.
sent_mib() {
  local p=$1 r=$2 total=0 s owner rows
  for ((s = 0; s < p - 1; s++)); do
    owner=$(((r - s + p) % p))
    rows=$(((owner + 1) * N / (2 * p) - owner * N / (2 * p)))
    rows=$((rows + (2 * p - owner) * N / (2 * p) - (2 * p - 1 - owner) * N / (2 * p)))
    total=$((total + rows * B * H * 2 * D * 4))
  done
  echo $((total / 1048576))
}

summarise() {  # label, files of `/usr/bin/time -v` output, one per process
  local label=$1 p=$2
  shift 2
  local times rss sent=""
  times="$(grep -h 'Elapsed (wall clock)' "$@" | awk '{print $NF}' | awk -F: '{t = $NF + 60 * $(NF-1); if (t > m) m = t} END {printf "%.2f", m}')"
  rss="$(grep -h 'Maximum resident' "$@" | awk '{printf "%s%d", sep, $NF / 1024; sep = ", "}')"
  for ((r = 0; r < p; r++)); do sent="$sent${sent:+, }$(sent_mib "$p" "$r")"; done
  echo "| $label | $times | $rss | $sent |"
}

OPENBLAS_NUM_THREADS=$cores /usr/bin/time -v -o "$work/single.time" \
  "$bin/attention" sdpa "${inputs[@]}" --output "$work/expected.npy"
summarise "attention sdpa, one process" 1 "$work/single.time" | sed 's/| 0 |$/| — |/'

for p in 1 2 4; do
  threads=$((cores / p > 0 ? cores / p : 1))
  rm -f "$work"/rank-*.time
  $MPIRUN -np "$p" -x OPENBLAS_NUM_THREADS="$threads" \
    sh -c '/usr/bin/time -v -o "$0/rank-$OMPI_COMM_WORLD_RANK.time" "$@"' "$work" \
    "$bin/attention-mpi" sdpa "${inputs[@]}" --output "$work/ring-$p.npy"
  summarise "attention-mpi, P = $p" "$p" "$work"/rank-*.time
  "$bin/RingAttentionCheck" compare "$work/ring-$p.npy" "$work/expected.npy" 1e-5 >/dev/null \
    || { echo "bench-ring: P = $p differs from attention sdpa" >&2; exit 1; }
done
