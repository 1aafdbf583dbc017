#!/usr/bin/env bash
# Time the Rust `preprocess` example against the Python reference
# (scripts/reference/preprocess_ref.py: nibabel + PyTorch, CT-CLIP's float64 path)
# on the same 512×512×300 int16 phantom, as .nii.gz and .nii, in one run.
# Wall time and peak RSS come from /usr/bin/time -v; each tool runs RUNS times
# (median reported), alternating so both see the same machine state.
#
# Usage: scripts/bench/preprocess.sh            (env: RUNS=3 PYTHON=.venv-ref/bin/python)
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-3}
PYTHON=${PYTHON:-.venv-ref/bin/python}
DIR=${BENCH_DIR:-target/bench-preprocess}
BIN="target/release/rad3d preprocess"
mkdir -p "$DIR"

cargo build --release --bin rad3d -j2 >&2
for ext in nii.gz nii; do
  [ -f "$DIR/phantom.$ext" ] || $BIN --phantom "$DIR/phantom.$ext" --finding "Lung nodule" --finding Cardiomegaly
done

# Run a command under /usr/bin/time -v; print "seconds peak_mb".
measure() {
  local log
  log=$(mktemp)
  /usr/bin/time -v "$@" >/dev/null 2>"$log" || { cat "$log" >&2; exit 1; }
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
    /Maximum resident set size/ { kb = $2 }
    END { printf "%.3f %.0f\n", s, kb / 1024 }' "$log"
  rm -f "$log"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

printf '| input | Rust time (s) | Python time (s) | speed-up | Rust peak RSS (MB) | Python peak RSS (MB) | memory ratio |\n'
printf '|---|---|---|---|---|---|---|\n'
for ext in nii.gz nii; do
  input="$DIR/phantom.$ext"
  : >"$DIR/rust.txt"
  : >"$DIR/py.txt"
  for _ in $(seq "$RUNS"); do
    measure $BIN "$input" --out "$DIR/rust.safetensors" >>"$DIR/rust.txt"
    measure "$PYTHON" scripts/reference/preprocess_ref.py "$input" --out "$DIR/py.safetensors" >>"$DIR/py.txt"
  done
  rt=$(cut -d' ' -f1 "$DIR/rust.txt" | median)
  rm_=$(cut -d' ' -f2 "$DIR/rust.txt" | median)
  pt=$(cut -d' ' -f1 "$DIR/py.txt" | median)
  pm=$(cut -d' ' -f2 "$DIR/py.txt" | median)
  awk -v e="$ext" -v rt="$rt" -v pt="$pt" -v rm="$rm_" -v pm="$pm" 'BEGIN {
    printf "| phantom.%s | %.2f | %.2f | %.1f× | %d | %d | %.2f |\n", e, rt, pt, pt / rt, rm, pm, rm / pm }'
done

# Same outputs? Whole-tensor max |Δ| between the last Rust and Python files.
"$PYTHON" scripts/reference/preprocess_ref.py "$DIR/phantom.nii" --compare "$DIR/rust.safetensors" | tail -1
