#!/usr/bin/env bash
# BERTScore (all-MiniLM-L6-v2, layer 6, no idf) on the 3,039-pair benchmark corpus of
# scripts/bench/metrics_pairs.py: rad3d-metrics (Flex backend, release build, model loading
# included) vs the `bert-score` Python package (model loading included) in the same run,
# with the agreement of the mean scores. Needs .venv-ref and target/assets (fetch-assets.sh).
#
#   scripts/bench/bertscore.sh
# Environment: BIN (an already built `bertscore` bench binary: skips the build).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv-ref/bin/python}"
OUT="target/bench-bertscore"
MODEL="target/assets/all-MiniLM-L6-v2"
mkdir -p "$OUT"
export RAD3D_FIXTURES="${RAD3D_FIXTURES:-../shared/fixtures}"

"$PY" scripts/bench/metrics_pairs.py "$OUT" >&2

if [ -z "${BIN:-}" ]; then
  cargo build --release -p rad3d-metrics --features bertscore --bench bertscore -j2 >&2
  BIN=$(ls -t target/release/deps/bertscore-* | grep -v '\.d$' | head -n1)
fi
uptime >&2

echo "== rad3d-metrics BERTScore" >&2
RAD3D_BERTSCORE_PAIRS="$OUT" "$BIN" >"$OUT/rust.json"

uptime >&2
echo "== bert-score (Python)" >&2
"$PY" - "$OUT" "$MODEL" >"$OUT/python.json" <<'PYEOF'
import json, sys, time
out, model = sys.argv[1], sys.argv[2]
refs = open(f"{out}/refs.txt").read().splitlines()
hyps = open(f"{out}/hyps.txt").read().splitlines()
start = time.perf_counter()
from bert_score import score
P, R, F = score(hyps, refs, model_type=model, num_layers=6, batch_size=64, device="cpu")
print(json.dumps({"pairs": len(refs), "seconds": time.perf_counter() - start,
                  "P": P.mean().item(), "R": R.mean().item(), "F": F.mean().item()}))
PYEOF

"$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
rs, py = json.load(open(f"{out}/rust.json")), json.load(open(f"{out}/python.json"))
print(f"pairs: {rs['pairs']}  cpus: 2")
for k in "PRF":
    print(f"mean {k}: python {py[k]:.7f}  rust {rs[k]:.7f}  |diff| {abs(py[k] - rs[k]):.1e}")
print(f"bert-score (python): {py['seconds']:.1f} s")
print(f"rad3d-metrics:       {rs['seconds']:.1f} s (model load {rs['load_seconds']:.2f} s)")
print(f"speed-up: {py['seconds'] / rs['seconds']:.1f}x")
PYEOF
