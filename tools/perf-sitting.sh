#!/usr/bin/env bash
# One measuring sitting for issue 6: ours and the PyTorch peer alternately, so both see the same machine state.
# Needs Debian's python3-torch and ../shared/bench/peer_pytorch.py (the RoBERTa peer); takes about 17 minutes.
# Run nothing else meanwhile: the machines are shared and two cores are all there is.
# Usage: tools/perf-sitting.sh [rounds]   (from the repository root)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-2}"
peer_script=../shared/bench/peer_pytorch.py
[[ -f "$peer_script" ]] || { echo "perf-sitting: $peer_script not found (the RoBERTa peer lives in ../shared)." >&2; exit 1; }
./eft --help > /dev/null   # build once, so no build lands inside a timed run

# OPENBLAS_CORETYPE unset lets OpenBLAS pick its own kernels: the peer at its best (see README, Benchmarks).
peer() {
    env -u OPENBLAS_CORETYPE /usr/bin/python3 "$peer_script" --layers 12 --batch 8 --seq 128 --steps 4 --warmup 2 "$@" |
        tail -1 | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print('PEER', d['mode'], 'threads', d['threads_arg'], 'median', round(d['step_ms_median']), 'min', round(d['step_ms_min']), 'peak RSS MB', round(d['peak_rss_mb']))"
}
ours() {
    echo "OURS $*"
    dotnet .build/eft/eft.dll perf train --arch roberta-base --batch 8 --seq 128 --steps 4 --warmup 2 "$@" | grep -E "ms/step|peak|bound|per step"
}
for _ in $(seq "$rounds"); do
    ours --threads 2; peer --threads 2
    ours --threads 1; peer --threads 1
    peer --threads default
done
ours --threads 2 --method full; peer --threads 2 --mode full
ours --threads 1 --method full; peer --threads 1 --mode full
echo "OURS llama-1b --threads 2"
dotnet .build/eft/eft.dll perf train --arch llama-1b --batch 4 --seq 64 --steps 3 --warmup 2 --threads 2 | grep -E "ms/step|peak|bound|per step|tokens"
env -u OPENBLAS_CORETYPE /usr/bin/python3 tools/peer_llama_pytorch.py --batch 4 --seq 64 --steps 3 --warmup 2 --threads 2
echo "OURS llama-1b --threads 2 --frozen-bf16"
dotnet .build/eft/eft.dll perf train --arch llama-1b --batch 4 --seq 64 --steps 3 --warmup 2 --threads 2 --frozen-bf16 | grep -E "ms/step|peak|bound|per step|tokens"
