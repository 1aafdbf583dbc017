#!/usr/bin/env bash
# Benchmark rad3d-metrics against the Python reference tools on 3,039 report pairs
# (CT-RATE's test-set size), in the same run:
#   - pycocoevalcap BLEU-1..4, METEOR (its METEOR 1.5 jar, JVM included), ROUGE-L, CIDEr-D
#     vs the `evaluate` example's own scorers (METEOR data loading included);
#   - rouge-score (rouge1/2/L/Lsum, Porter stemmer) vs ours;
#   - a 5,000-resample bootstrap of all corpus metrics (target < 5 s on 2 cores) vs a
#     naive Python bootstrap of corpus BLEU (a few resamples timed, extrapolated).
# Also checks that every score agrees. Needs the reference venv (.venv-ref) and the
# fixtures ($RAD3D_FIXTURES, default ../shared/fixtures).
#
#   scripts/bench/metrics.sh [PYTHON_BOOTSTRAP_RESAMPLES_TO_TIME]
# Environment: EVAL (a built `evaluate` binary), METEOR_DIR (METEOR data directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv-ref/bin/python}"
OUT="target/bench-metrics"
NB="${1:-3}"
mkdir -p "$OUT"
export RAD3D_FIXTURES="${RAD3D_FIXTURES:-../shared/fixtures}"

# EVAL may name an already built `evaluate` binary.
if [ -z "${EVAL:-}" ]; then
  cargo build --release --example evaluate -j2 >&2
  EVAL=target/release/examples/evaluate
fi

"$PY" scripts/bench/metrics_pairs.py "$OUT"

echo "== Python reference tools" >&2
"$PY" scripts/bench/metrics_reference.py "$OUT" "$OUT/python.json" "$NB"

echo "== rad3d-metrics: all metrics" >&2
/usr/bin/time -f "%e" -o "$OUT/rust_score_wall.txt" \
  "$EVAL" --refs "$OUT/refs.txt" --hyps "$OUT/hyps.txt" --json --timings ${METEOR_DIR:+--meteor-dir "$METEOR_DIR"} >"$OUT/rust.json"
echo "== rad3d-metrics: all metrics + 5,000-resample bootstrap + paired tests vs a second system" >&2
/usr/bin/time -f "%e" -o "$OUT/rust_boot_wall.txt" \
  "$EVAL" --refs "$OUT/refs.txt" --hyps "$OUT/hyps.txt" --bootstrap 5000 \
  --compare "$OUT/hyps_b.txt" --json --timings ${METEOR_DIR:+--meteor-dir "$METEOR_DIR"} >"$OUT/rust_boot.json"

"$PY" - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
py = json.load(open(f"{out}/python.json"))
rs = json.load(open(f"{out}/rust.json"))
rb = json.load(open(f"{out}/rust_boot.json"))
ps, pt, rt, bt = py["scores"], py["seconds"], rs["seconds"], rb["seconds"]
wall = float(open(f"{out}/rust_score_wall.txt").read())
print(f"pairs: {rs['samples']}  cpus: 2")
print(f"{'metric':<10} {'python':>20} {'rust':>20} {'|diff|':>9}")
for k, v in ps.items():
    print(f"{k:<10} {v:>20.15f} {rs[k]:>20.15f} {abs(v - rs[k]):>9.1e}")
coco_rust = rt["load_meteor_data"] + rt["tokenize"] + rt["bleu"] + rt["meteor"] + rt["rouge_l"] + rt["cider_d"]
rows = [
    ("pycocoevalcap BLEU", pt["coco_bleu"], rt["bleu"]),
    ("pycocoevalcap METEOR (JVM / data load incl.)", pt["coco_meteor"], rt["meteor"] + rt["load_meteor_data"]),
    ("pycocoevalcap ROUGE-L", pt["coco_rouge_l"], rt["rouge_l"]),
    ("pycocoevalcap CIDEr-D", pt["coco_cider_d"], rt["cider_d"]),
    ("pycocoevalcap four scorers", pt["coco_four_scorers"], coco_rust),
    ("rouge-score 4 types, stemmer", pt["rouge_score"], rt["rouge_score_4_types"]),
    ("sacreBLEU", pt["sacrebleu"], rt["sacrebleu"]),
    ("5,000-resample bootstrap (Python: BLEU only, extrapolated)", pt["naive_bootstrap_bleu_5000_extrapolated"], bt["bootstrap"]),
]
print(f"\n{'task':<60} {'python s':>10} {'rust s':>9} {'ratio':>8}")
for name, p, r in rows:
    print(f"{name:<60} {p:>10.3f} {r:>9.3f} {p / r:>7.0f}x")
print(f"\nrust `evaluate` process wall time (all metrics, data load incl.): {wall:.2f} s")
print(f"bootstrap of all corpus metrics, 5,000 resamples: {bt['bootstrap']:.2f} s (target < 5 s)")
print(f"paired permutation (5,000) all metrics: {bt['paired_permutation']:.2f} s; paired bootstrap: {bt['paired_bootstrap']:.2f} s")
print("p-values (permutation) vs second system:", json.dumps(rb["p_value"]))
PYEOF
