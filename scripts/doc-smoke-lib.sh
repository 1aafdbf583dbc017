# Shared by the scripts that run a document's ```sh blocks on a generated dataset folder
# (ct-rate-smoke.sh, inspect-smoke.sh). Source it, then call `smoke_setup DATA OUT`, set the
# document's own settings, and `smoke_run DOC`.

# Resolves DATA and OUT, the binary under test (RAD3D, else `rad3d` on PATH) and the assets
# (RAD3D_ASSETS, else target/assets), and the toy-sized settings both documents share.
smoke_setup() {
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  DATA=$(cd "$1" && pwd)
  mkdir -p "$2"
  OUT=$(cd "$2" && pwd)
  RAD3D_BIN=${RAD3D:-$(command -v rad3d || true)}
  [ -x "$RAD3D_BIN" ] || { echo "rad3d not found: install it or set RAD3D" >&2; exit 2; }
  ASSETS=${RAD3D_ASSETS:-$ROOT/target/assets}
  export RAD3D_ASSETS=$ASSETS
  # Toy-sized settings; a document's settings block keeps values that are already set.
  WORK=$OUT
  DEVICE=${DEVICE:-cpu}
  ENCODER="--checkpoint $OUT/tiny-encoder/encoder.mpk --config tiny"
  LLM=$OUT/lm-source/lm/llm.json
  HEAD_TRAIN="--epochs 40 --patience 10"
  RESAMPLES=200
  BERTSCORE="--bertscore $ASSETS/all-MiniLM-L6-v2"
}

# The commands call `rad3d`; this shell function makes them call the binary under test.
rad3d() { "$RAD3D_BIN" "$@"; }

# Makes what a document assumes the user has (a random tiny encoder, the quickstart's small
# LM), then runs the document's ```sh blocks, in order, in this shell.
smoke_run() {
  mkdir -p "$OUT/no-volumes"
  [ -f "$OUT/tiny-encoder/encoder.mpk" ] ||
    rad3d embed "$OUT/no-volumes" --random-weights --config tiny --out "$OUT/tiny-encoder" -q
  [ -f "$LLM" ] || rad3d quickstart --fast --decoder-only --out "$OUT/lm-source" -q
  awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0 } on' "$1" >"$OUT/commands.sh"
  # shellcheck disable=SC1091
  source "$OUT/commands.sh"
}
