#!/usr/bin/env bash
# The INSPECT workflow of docs/inspect.md, run exactly as the document writes it (its ```sh
# blocks are extracted and executed in order), on any folder in INSPECT layout with the
# extractor's entities.csv and mentions.csv, with toy-sized models: a random-initialised
# tiny encoder and the quickstart's small LM.
#
# Usage: scripts/inspect-smoke.sh DATA_DIR OUT_DIR
#   DATA_DIR  a folder in INSPECT layout (`rad3d quickstart --inspect-layout DIR` writes one)
#   OUT_DIR   everything the commands write
# Environment: RAD3D (the rad3d binary; default: rad3d on PATH), RAD3D_ASSETS (METEOR data
# and all-MiniLM-L6-v2; default target/assets), DEVICE (default cpu), MIN_COUNT (default 3).
set -euo pipefail

[ $# -eq 2 ] || { sed -n '2,14p' "$0" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DATA=$(cd "$1" && pwd)
mkdir -p "$2"
OUT=$(cd "$2" && pwd)
RAD3D_BIN=${RAD3D:-$(command -v rad3d || true)}
[ -x "$RAD3D_BIN" ] || { echo "rad3d not found: install it or set RAD3D" >&2; exit 2; }
ASSETS=${RAD3D_ASSETS:-$ROOT/target/assets}
export RAD3D_ASSETS=$ASSETS

# The commands call `rad3d`; this shell function makes them call the binary under test.
rad3d() { "$RAD3D_BIN" "$@"; }

# Toy-sized settings; the document's settings block keeps values that are already set.
INSPECT=$DATA
WORK=$OUT
DEVICE=${DEVICE:-cpu}
ENCODER="--checkpoint $OUT/tiny-encoder/encoder.mpk --config tiny"
LLM=$OUT/lm-source/lm/llm.json
TRAIN="--epochs 2 --lr 1e-3 --batch 4 --prefix-len 4 --layers 1 --max-tokens 64 --generate-tokens 0"
HEAD_TRAIN="--epochs 40 --patience 10"
MIN_COUNT=${MIN_COUNT:-3}
RESAMPLES=200
BERTSCORE="--bertscore $ASSETS/all-MiniLM-L6-v2"

# What the document assumes the user has: encoder weights and an LLM.
mkdir -p "$OUT/no-volumes"
[ -f "$OUT/tiny-encoder/encoder.mpk" ] ||
  rad3d embed "$OUT/no-volumes" --random-weights --config tiny --out "$OUT/tiny-encoder" -q
[ -f "$LLM" ] || rad3d quickstart --fast --decoder-only --out "$OUT/lm-source" -q

# The document's commands, in order.
awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' "$ROOT/docs/inspect.md" >"$OUT/commands.sh"
# shellcheck disable=SC1091
source "$OUT/commands.sh"
echo "table: $OUT/table4_inspect.md" >&2
