#!/usr/bin/env bash
# The Python package end to end, as a user installs it: a fresh venv, `pip install
# ./crates/rad3d-py` (maturin builds the extension from source, release profile), the
# issue's one-line check, then the pytest suite against the real pycocoevalcap and
# rouge-score (pycocoevalcap's METEOR needs Java) and the `rad3d` binary when one is built,
# and the Python benchmark once on the 25 fixture pairs.
#
#   scripts/python-check.sh            # venv in target/py-venv, cargo output in target/py
#
# Environment: PYTHON (default python3), RAD3D_PY_VENV, CARGO_TARGET_DIR (default
# target/py), RAD3D_BIN (default target/install/bin/rad3d when present), RAD3D_FIXTURES,
# RAD3D_ASSETS (METEOR data; default target/assets).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
PY="${PYTHON:-python3}"
VENV="${RAD3D_PY_VENV:-target/py-venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/py}"
if [ -z "${RAD3D_BIN:-}" ] && [ -x target/install/bin/rad3d ]; then
  export RAD3D_BIN="$PWD/target/install/bin/rad3d"
fi

rm -rf "$VENV"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet ./crates/rad3d-py
built=$(date +%s)
echo "pip install ./crates/rad3d-py: $((built - start)) s"

"$VENV/bin/python" -c "import rad3d; print(rad3d.metrics.evaluate(['a b c'], ['a b d']))"

"$VENV/bin/pip" install --quiet pytest pycocoevalcap rouge-score safetensors nibabel
"$VENV/bin/python" -m pytest crates/rad3d-py/tests -q -rs
# The benchmark of docs/benchmarks.md, once on the fixture: its agreement checks run.
"$VENV/bin/python" scripts/bench/python_bindings.py --runs 1 --pairs 25
echo "python check: $(($(date +%s) - start)) s"
