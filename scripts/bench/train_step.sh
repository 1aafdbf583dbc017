#!/usr/bin/env bash
# One V-3 optimizer step (batch 4, 128 report tokens, frozen SmolLM2-135M with random
# weights of its real shape, ClipCap mapper D = 576, 8 layers): rad3d (burn Flex, release)
# vs PyTorch, on this machine, in this run. Each side runs in its own process so peak RSS
# is its own. Results go to docs/benchmarks.md ("Training step").
set -euo pipefail
cd "$(dirname "$0")/../.."
FIXTURES="${RAD3D_FIXTURES:-../shared/fixtures}"
CONFIG="$FIXTURES/llm/smollm2/config.json"
STEPS="${STEPS:-3}"
PY="${PYTHON:-.venv-ref/bin/python}"
[ -f "$CONFIG" ] || { echo "missing $CONFIG" >&2; exit 1; }
cargo build --release -p rad3d-train --example train_step -j2 >&2
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
./target/release/examples/train_step "$CONFIG" "$STEPS"
"$PY" scripts/reference/train_step_torch.py "$CONFIG" "$STEPS"
