#!/usr/bin/env bash
# Full-size CT-CLIP image forward, [1,1,240,480,480], random weights: this crate (Flex CPU
# backend) against CT-CLIP's own PyTorch classes, on the same machine in one run.
#
# Each run is a fresh process under /usr/bin/time -v (wall clock and peak RSS of the whole
# process: weights, input and activations), Rust and PyTorch alternating, RUNS rounds (default
# 3). Prints every run, the medians, the ratios (Rust / PyTorch; <= 1.0 is the goal) and the
# machine load (uptime) before and after, as a markdown table.
#
# Needs: a CT-CLIP checkout (CT_CLIP_DIR, default target/ct-clip; cloned there when
# CT_CLIP_REPO is a git URL or path; never committed), a Python with torch, einops, beartype
# and vector-quantize-pytorch==1.1.2 (PYTHON, default .venv-ref/bin/python).
# Optional: FRAMES / SIZE (default 240 / 480), RUNS (default 3), STAGES=1 to also print the
# Rust per-stage timing of one extra run, RUST_BIN to time another build of the example (for
# instance one built with `--features burn/x86-v4` into another target directory).
set -euo pipefail
cd "$(dirname "$0")/../.."
FRAMES=${FRAMES:-240}
SIZE=${SIZE:-480}
RUNS=${RUNS:-3}
PYTHON=${PYTHON:-.venv-ref/bin/python}
CT_CLIP_DIR=${CT_CLIP_DIR:-target/ct-clip}
if [[ ! -d "$CT_CLIP_DIR/transformer_maskgit" ]]; then
  : "${CT_CLIP_REPO:?set CT_CLIP_DIR to a CT-CLIP checkout or CT_CLIP_REPO to clone one}"
  git clone --depth 1 "$CT_CLIP_REPO" "$CT_CLIP_DIR"
fi
# NO_BUILD=1 uses the binary as built (the cargo lock may be held by other builds).
if [[ -z "${NO_BUILD:-}" ]]; then
  cargo build --release -p rad3d-ctvit --example ctvit_forward -j2 >&2
fi
rust_bin=${RUST_BIN:-target/release/examples/ctvit_forward}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

load_before=$(uptime)
for ((i = 0; i < RUNS; i++)); do
  # Alternate which side goes first so a drifting background load hits both alike.
  if ((i % 2 == 0)); then order="rust pytorch"; else order="pytorch rust"; fi
  for side in $order; do
    if [[ $side == rust ]]; then
      /usr/bin/time -v -o "$work/$side.$i.time" "$rust_bin" "$FRAMES" "$SIZE" 1 \
        >"$work/$side.$i.json"
    else
      /usr/bin/time -v -o "$work/$side.$i.time" "$PYTHON" scripts/reference/ctvit_forward.py \
        --ct-clip-dir "$CT_CLIP_DIR" --frames "$FRAMES" --size "$SIZE" --runs 1 \
        >"$work/$side.$i.json" 2>/dev/null
    fi
    echo "run $i $side: $(cat "$work/$side.$i.json")" >&2
  done
done
load_after=$(uptime)
if [[ "${STAGES:-0}" == 1 ]]; then
  "$rust_bin" "$FRAMES" "$SIZE" 1 --stages >&2
fi

"$PYTHON" - "$work" "$RUNS" "$load_before" "$load_after" "$FRAMES" "$SIZE" <<'PY'
import json, re, statistics, sys
from pathlib import Path

work, runs, before, after, frames, size = sys.argv[1:7]
work, runs = Path(work), int(runs)

def stats(side, i):
    text = (work / f"{side}.{i}.time").read_text()
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", text).group(1)
    seconds = 0.0
    for part in wall.split(":"):
        seconds = seconds * 60 + float(part)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    forward = json.loads((work / f"{side}.{i}.json").read_text())["seconds"]
    return forward, seconds, rss_kb / 1024 / 1024

rows = {side: [stats(side, i) for i in range(runs)] for side in ("rust", "pytorch")}
print(f"CT-CLIP image forward [1, 1, {frames}, {size}, {size}], random weights, f32, CPU")
print(f"load before: {before.strip()}")
print(f"load after:  {after.strip()}")
print()
print("| run | Rust forward (s) | PyTorch forward (s) | Rust process wall (s) | PyTorch process wall (s) | Rust peak RSS (GB) | PyTorch peak RSS (GB) |")
print("|---|---|---|---|---|---|---|")
for i in range(runs):
    r, p = rows["rust"][i], rows["pytorch"][i]
    print(f"| {i + 1} | {r[0]:.2f} | {p[0]:.2f} | {r[1]:.2f} | {p[1]:.2f} | {r[2]:.2f} | {p[2]:.2f} |")
med = {side: [statistics.median(v[k] for v in rows[side]) for k in range(3)] for side in rows}
r, p = med["rust"], med["pytorch"]
print(f"| median | {r[0]:.2f} | {p[0]:.2f} | {r[1]:.2f} | {p[1]:.2f} | {r[2]:.2f} | {p[2]:.2f} |")
print(f"| ratio Rust/PyTorch | {r[0] / p[0]:.2f} | | {r[1] / p[1]:.2f} | | {r[2] / p[2]:.2f} | |")
PY
