#!/usr/bin/env bash
# Benchmark rad3d-metrics against the Python reference tools on 3,039 report pairs
# (CT-RATE's test-set size), in the same run:
#   - pycocoevalcap BLEU-1..4, METEOR (its METEOR 1.5 jar, JVM included), ROUGE-L, CIDEr-D
#     vs the `evaluate` example's own scorers (METEOR data loading included);
#   - rouge-score (rouge1/2/L/Lsum, Porter stemmer) vs ours;
#   - a 5,000-resample bootstrap of all corpus metrics (target < 5 s on 2 cores) vs a
#     naive Python bootstrap of corpus BLEU (a few resamples timed, extrapolated).
# Also checks that every score agrees. Needs the reference venv (.venv-ref) and the
# fixtures ($RAD3D_FIXTURES, default ../shared/fixtures). Python and Rust alternate,
# RUNS times (default 3); the tables report the median of each timing and the load.
#
#   scripts/bench/metrics.sh [PYTHON_BOOTSTRAP_RESAMPLES_TO_TIME]
# Environment: EVAL (a built "rad3d evaluate" command), METEOR_DIR (METEOR data directory), RUNS.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-.venv-ref/bin/python}"
OUT="target/bench-metrics"
NB="${1:-3}"
RUNS="${RUNS:-3}"
mkdir -p "$OUT"
export RAD3D_FIXTURES="${RAD3D_FIXTURES:-../shared/fixtures}"

# EVAL may name an already built evaluate command (e.g. "rad3d evaluate").
if [ -z "${EVAL:-}" ]; then
  cargo build --release --bin rad3d -j2 >&2
  EVAL="target/release/rad3d evaluate"
fi

"$PY" scripts/bench/metrics_pairs.py "$OUT"

uptime >"$OUT/uptime.txt"
for run in $(seq 1 "$RUNS"); do
  echo "== run $run/$RUNS: Python reference tools" >&2
  "$PY" scripts/bench/metrics_reference.py "$OUT" "$OUT/python_$run.json" "$NB"
  echo "== run $run/$RUNS: rad3d-metrics, all metrics" >&2
  $EVAL --refs "$OUT/refs.txt" --hyps "$OUT/hyps.txt" --json --timings \
    ${METEOR_DIR:+--meteor-dir "$METEOR_DIR"} >"$OUT/rust_$run.json"
  echo "== run $run/$RUNS: rad3d-metrics, all metrics + 5,000-resample bootstrap + paired tests vs a second system" >&2
  $EVAL --refs "$OUT/refs.txt" --hyps "$OUT/hyps.txt" --bootstrap 5000 \
    --compare "$OUT/hyps_b.txt" --json --timings \
    ${METEOR_DIR:+--meteor-dir "$METEOR_DIR"} >"$OUT/rust_boot_$run.json"
  uptime >>"$OUT/uptime.txt"
done

"$PY" - "$OUT" "$RUNS" <<'PYEOF'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
load = lambda name: [json.load(open(f"{out}/{name}_{k}.json")) for k in range(1, runs + 1)]
pys, rss, rbs = load("python"), load("rust"), load("rust_boot")
med = lambda xs: statistics.median(xs)
pt = {k: med([p["seconds"][k] for p in pys]) for k in pys[0]["seconds"]}
rt = {k: med([r["seconds"][k] for r in rss]) for k in rss[0]["seconds"]}
bt = {k: med([r["seconds"][k] for r in rbs]) for k in rbs[0]["seconds"]}
ps, rs, rb = pys[0]["scores"], rss[0], rbs[0]
print(f"pairs: {rs['samples']}  cpus: 2  runs: {runs} (medians)")
print("load (uptime before and after each run):")
print(open(f"{out}/uptime.txt").read().rstrip())
print(f"\n| metric | Python | Rust | abs diff |\n|---|---|---|---|")
for k, v in ps.items():
    print(f"| {k} | {v:.15f} | {rs[k]:.15f} | {abs(v - rs[k]):.1e} |")
coco_rust = lambda t: t["load_meteor_data"] + t["tokenize"] + t["bleu"] + t["meteor"] + t["rouge_l"] + t["cider_d"]
rows = [
    ("pycocoevalcap BLEU-1..4", "coco_bleu", lambda t: t["bleu"]),
    ("pycocoevalcap METEOR (JVM start / data load incl.)", "coco_meteor", lambda t: t["meteor"] + t["load_meteor_data"]),
    ("pycocoevalcap ROUGE-L", "coco_rouge_l", lambda t: t["rouge_l"]),
    ("pycocoevalcap CIDEr-D", "coco_cider_d", lambda t: t["cider_d"]),
    ("pycocoevalcap four scorers (incl. tokenization)", "coco_four_scorers", coco_rust),
    ("rouge-score, stemmer (Python rouge1/2/L/Lsum; Rust rouge1/2/L, the reported ones)", "rouge_score", lambda t: t["rouge_score_3_types"]),
    ("sacreBLEU", "sacrebleu", lambda t: t["sacrebleu"]),
]
print(f"\n| task (3,039 pairs) | Python s | Rust s | speed-up |\n|---|---|---|---|")
for name, pk, rf in rows:
    p = med([x["seconds"][pk] for x in pys])
    r = med([rf(x["seconds"]) for x in rss])
    print(f"| {name} | {p:.3f} | {r:.4f} | {p / r:.0f}x |")
nb = med([x["seconds"]["naive_bootstrap_bleu_5000_extrapolated"] for x in pys])
print(f"| 5,000-resample bootstrap (Python: corpus BLEU only, extrapolated; Rust: all 11 corpus values) | {nb:.0f} | {bt['bootstrap']:.2f} | {nb / bt['bootstrap']:.0f}x |")
walls = [x["seconds"]["score_all_metrics"] + x["seconds"]["load_meteor_data"] for x in rss]
print(f"\nrust: all metrics incl. METEOR data load: {med(walls):.3f} s (runs: {', '.join(f'{w:.3f}' for w in walls)})")
boots = [x["seconds"]["bootstrap"] for x in rbs]
print(f"bootstrap of all corpus metrics, 5,000 resamples: {bt['bootstrap']:.2f} s median (runs: {', '.join(f'{b:.2f}' for b in boots)}; target < 5 s)")
print(f"paired permutation (5,000) all metrics: {bt['paired_permutation']:.2f} s; paired bootstrap: {bt['paired_bootstrap']:.2f} s")
same = all(json.dumps(r.get("ci"), sort_keys=True) == json.dumps(rbs[0].get("ci"), sort_keys=True) for r in rbs)
print("bootstrap intervals identical across runs:", same)
print("p-values (permutation) vs second system:", json.dumps(rb["p_value"]))
PYEOF
