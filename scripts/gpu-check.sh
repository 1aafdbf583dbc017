#!/usr/bin/env bash
# GPU check: build with Burn's CUDA backend and run the GPU-relevant examples in one go
# (well under 10 minutes on one H100/H200), writing a summary table to $OUT (or target/gpu-check).
#
#   scripts/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-target/gpu-check}"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.md"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1 || true
echo "# GPU check ($(cat "$OUT/gpu.txt" | head -1))" > "$SUMMARY"
echo "| step | status | seconds | notes |" >> "$SUMMARY"
echo "|---|---|---:|---|" >> "$SUMMARY"

step() { # name, command...
  local name="$1"; shift
  local t0=$(date +%s.%N)
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local dt=$(echo "$(date +%s.%N) - $t0" | bc)
  local note=$(tail -n 1 "$OUT/$name.log" | tr '|' '/' | cut -c1-160)
  echo "| $name | $([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)") | $dt | $note |" >> "$SUMMARY"
  return $rc
}

./scripts/fetch-assets.sh > "$OUT/assets.log" 2>&1 || true
step build cargo build --release -p rad3d-cli --features cuda --bin rad3d -j "$(nproc)"
GGUF=target/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
if [ -f "$GGUF" ]; then
  step generate_b1 ./target/release/rad3d generate --device cuda --llm "$GGUF" \
      --prompt "The chest CT shows" --max-new-tokens 128 --greedy --json
fi
step quickstart_fast ./target/release/rad3d quickstart --device cuda --fast --out "$OUT/quickstart" --json "$OUT/quickstart.json"
step preprocess_phantom ./target/release/rad3d preprocess --phantom "$OUT/phantom.nii.gz"
cat "$SUMMARY"
