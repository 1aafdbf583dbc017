#!/usr/bin/env bash
# The CT-RATE workflow of docs/ct-rate.md, run exactly as the document writes it (its
# ```sh blocks are extracted and executed in order), on any folder in CT-RATE layout, with
# toy-sized models: a random-initialised tiny encoder and the quickstart's small LM.
#
# Usage: scripts/ct-rate-smoke.sh DATA_DIR OUT_DIR
#   DATA_DIR  a folder in CT-RATE layout (`rad3d quickstart --ct-rate-layout DIR` writes one)
#   OUT_DIR   everything the commands write, and OUT_DIR/summary.json:
#             {"variants": {"v2": {...}, "v3": {...}}, "compare": {"v3_vs_v2": {metric: p}},
#              "reports": "<path>"}
# Environment: RAD3D (the rad3d binary; default: rad3d on PATH), RAD3D_ASSETS (METEOR data
# and all-MiniLM-L6-v2; default target/assets), DEVICE (default cpu).
set -euo pipefail

[ $# -eq 2 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
# shellcheck source=scripts/doc-smoke-lib.sh
source "$(dirname "$0")/doc-smoke-lib.sh"
smoke_setup "$1" "$2"
CTRATE=$DATA
TRAIN="--epochs 2 --lr 1e-3 --batch 4 --prefix-len 4 --layers 1 --max-tokens 64 --generate-tokens 40"
UMAP="--neighbors 3 --epochs 50"
smoke_run "$ROOT/docs/ct-rate.md"

# The summary the CI check reads.
python3 - "$OUT" <<'PY'
import json, sys, os
out = sys.argv[1]
keys = ["bleu_4", "meteor", "rouge_l", "bertscore_f"]
def load(name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)
variants = {}
for v in ["v2", "v3"]:
    e = load(f"{v}.json")
    variants[v] = {k: e[k] for k in keys}
    variants[v]["ci"] = {k: e["ci"][k] for k in keys}
cmp = load("v3_vs_v2.json")
summary = {
    "variants": variants,
    "compare": {"v3_vs_v2": {k: cmp["p_value"][k] for k in keys}},
    "reports": os.path.join(out, "reports_new.csv"),
}
tmp = os.path.join(out, ".summary.json.tmp")
with open(tmp, "w") as f:
    json.dump(summary, f, indent=2)
os.replace(tmp, os.path.join(out, "summary.json"))
PY
echo "summary: $OUT/summary.json" >&2
