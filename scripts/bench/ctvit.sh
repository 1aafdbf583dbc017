#!/usr/bin/env bash
# Full-size CT-CLIP image forward, [1,1,240,480,480], random weights: this crate (Flex CPU
# backend) against CT-CLIP's own PyTorch classes, on the same machine in one run.
# Prints both JSON lines and the time / peak-RSS ratios (Rust / PyTorch; <= 1.0 is the goal).
#
# Needs: a CT-CLIP checkout (CT_CLIP_DIR, or cloned into target/ct-clip when CT_CLIP_REPO is a
# git URL or path; never committed), a Python with torch, einops, beartype and
# vector-quantize-pytorch==1.1.2 (PYTHON, default .venv-ref/bin/python).
# Optional: FRAMES / SIZE (default 240 / 480), RUNS (default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
FRAMES=${FRAMES:-240}
SIZE=${SIZE:-480}
RUNS=${RUNS:-1}
PYTHON=${PYTHON:-.venv-ref/bin/python}
if [[ -z "${CT_CLIP_DIR:-}" ]]; then
  CT_CLIP_DIR=target/ct-clip
  if [[ ! -d "$CT_CLIP_DIR" ]]; then
    : "${CT_CLIP_REPO:?set CT_CLIP_DIR to a CT-CLIP checkout or CT_CLIP_REPO to clone one}"
    git clone --depth 1 "$CT_CLIP_REPO" "$CT_CLIP_DIR"
  fi
fi
cargo build --release -p rad3d-ctvit --example ctvit_forward -j2 >&2
rust=$(target/release/examples/ctvit_forward "$FRAMES" "$SIZE" "$RUNS")
py=$("$PYTHON" scripts/reference/ctvit_forward.py --ct-clip-dir "$CT_CLIP_DIR" \
  --frames "$FRAMES" --size "$SIZE" --runs "$RUNS" 2>/dev/null)
echo "$rust"
echo "$py"
"$PYTHON" - "$rust" "$py" <<'PY'
import json, sys
r, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"time  rust {r['seconds']:.2f} s  pytorch {p['seconds']:.2f} s  ratio {r['seconds'] / p['seconds']:.2f}")
print(f"peak  rust {r['peak_rss_mb']:.0f} MB  pytorch {p['peak_rss_mb']:.0f} MB  ratio {r['peak_rss_mb'] / p['peak_rss_mb']:.2f}")
PY
