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
# shellcheck source=scripts/doc-smoke-lib.sh
source "$(dirname "$0")/doc-smoke-lib.sh"
smoke_setup "$1" "$2"
INSPECT=$DATA
TRAIN="--epochs 2 --lr 1e-3 --batch 4 --prefix-len 4 --layers 1 --max-tokens 64 --generate-tokens 0"
MIN_COUNT=${MIN_COUNT:-3}
smoke_run "$ROOT/docs/inspect.md"
echo "table: $OUT/table4_inspect.md" >&2
