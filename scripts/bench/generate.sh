#!/usr/bin/env bash
# Decoding throughput of rad3d-llm (`rad3d generate`, Flex backend) against HF
# transformers (scripts/reference/llm_bench_hf.py) on CPU, same machine, same run:
# SmolLM2-135M-Instruct in float32 (both sides dequantize the same GGUF Q4_1 file),
# a 10-row prefix of embeddings + a short prompt, 128 new greedy tokens (EOS suppressed
# on both sides), batch 1 and 8. Rust and Python alternate (the first side swaps every
# run), RUNS runs each; peak RSS from /usr/bin/time -v. Ends with a markdown table of
# medians, the ratios, and the batch-1 memory-bandwidth bound.
#
#   scripts/bench/generate.sh [GGUF]
#   env: RUNS (default 3), BIN (a prebuilt "rad3d generate" command), NEW (128), PREFIX (10), BATCHES ("1 8"), PYTHON (.venv-ref/bin/python)
set -euo pipefail
cd "$(dirname "$0")/../.."
GGUF="${1:-target/assets/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf}"
PY="${PYTHON:-.venv-ref/bin/python}"
RUNS="${RUNS:-3}"
NEW="${NEW:-128}"
PREFIX="${PREFIX:-10}"
BATCHES="${BATCHES:-1 8}"
PROMPT="Findings:"
OUT=target/bench/generate
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: > "$RESULTS"

[ -f "$GGUF" ] || { echo "missing $GGUF (run scripts/fetch-assets.sh)" >&2; exit 1; }
# BIN="path/to/rad3d generate" runs an already built binary instead of building it.
if [ -z "${BIN:-}" ]; then
  cargo build --release -j2 --bin rad3d >&2
  BIN="target/release/rad3d generate"
fi

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(free -g | awk '/Mem:/{print $2}') GiB"
echo "load before: $(uptime)"

# The prompt's token ids, from the Rust tokenizer, so both sides see the same input.
IDS=$($BIN --llm "$GGUF" --prompt "$PROMPT" --max-new-tokens 1 --json |
  "$PY" -c 'import json,sys; print(",".join(map(str, json.load(sys.stdin)["prompt_ids"])))')
echo "prompt: \"$PROMPT\" -> [$IDS], prefix $PREFIX rows, $NEW new tokens"

# run SIDE BATCH RUN: one measured process, its JSON line + peak RSS appended to $RESULTS.
run() {
  local side=$1 batch=$2 r=$3 json
  local timelog="$OUT/time-$side-$batch-$r.txt"
  if [ "$side" = rust ]; then
    json=$(/usr/bin/time -v -o "$timelog" $BIN --llm "$GGUF" --prompt-ids "$IDS" \
      --batch "$batch" --prefix-len "$PREFIX" --max-new-tokens "$NEW" --min-new-tokens "$NEW" --json)
  else
    json=$(/usr/bin/time -v -o "$timelog" "$PY" scripts/reference/llm_bench_hf.py --model "$GGUF" \
      --prompt-ids "$IDS" --batch "$batch" --prefix-len "$PREFIX" --new "$NEW" 2>"$OUT/py-stderr.txt")
  fi
  local rss_kb
  rss_kb=$(awk -F: '/Maximum resident set size/{gsub(/ /,"",$2); print $2}' "$timelog")
  "$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(side=sys.argv[2], run=int(sys.argv[3]), peak_rss_kb=int(sys.argv[4]), load=open("/proc/loadavg").read().split()[0]); print(json.dumps(d))' \
    "$json" "$side" "$r" "$rss_kb" >> "$RESULTS"
  tail -n1 "$RESULTS" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("  run %d batch %2d %-12s %7.1f tok/s  peak %6.0f MiB  load %s" % (d["run"], d["batch"], d["side"], d["tokens_per_s"], d["peak_rss_kb"] / 1024, d["load"]))'
}

for r in $(seq 1 "$RUNS"); do
  for batch in $BATCHES; do
    if [ $((r % 2)) -eq 1 ]; then order="rust transformers"; else order="transformers rust"; fi
    for side in $order; do run "$side" "$batch" "$r"; done
  done
done
echo "load after: $(uptime)"

# Memory bandwidth (read-dominated, like decoding) and the batch-1 bound.
"$PY" - "$GGUF" "$RESULTS" <<'PYEOF'
import json, statistics, sys, time
import numpy as np, torch
from gguf import GGUFReader

gguf_path, results = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(results)]

# Bytes of f32 weights read per decoded token at batch 1: every matrix once (the tied
# embedding matrix is read by the output projection; the input lookup reads one row).
n_params = sum(int(t.n_elements) for t in GGUFReader(gguf_path).tensors)
weight_bytes = 4 * n_params

def best(f, reps=5):
    ts = []
    for _ in range(reps):
        t = time.perf_counter(); f(); ts.append(time.perf_counter() - t)
    return min(ts)

n = 256 * 1024 * 1024 // 4  # 1 GiB f32 per buffer
a = np.ones(n, dtype=np.float32); b = np.empty_like(a)
copy_gbs = 2 * a.nbytes / best(lambda: np.copyto(b, a)) / 1e9       # read + write
read1_gbs = a.nbytes / best(lambda: a.sum()) / 1e9                   # 1 thread read
ta = torch.from_numpy(a)
readn_gbs = a.nbytes / best(lambda: ta.sum()) / 1e9                  # torch threads read
bw = max(read1_gbs, readn_gbs)

def med(side, batch, key):
    v = [r[key] for r in rows if r["side"] == side and r["batch"] == batch]
    return statistics.median(v) if v else float("nan")

print()
print(f"| batch | rad3d-llm tok/s | transformers tok/s | ratio | rad3d-llm peak RSS | transformers peak RSS | same greedy ids |")
print(f"|---|---|---|---|---|---|---|")
for batch in sorted({r["batch"] for r in rows}):
    ours, theirs = med("rust", batch, "tokens_per_s"), med("transformers", batch, "tokens_per_s")
    ro, rt = med("rust", batch, "peak_rss_kb") / 1024, med("transformers", batch, "peak_rss_kb") / 1024
    ids_r = [r["ids"] for r in rows if r["side"] == "rust" and r["batch"] == batch]
    ids_t = [r["ids"] for r in rows if r["side"] == "transformers" and r["batch"] == batch]
    agree = 0
    if ids_r and ids_t:
        for x, y in zip(ids_r[0], ids_t[0]):
            if x != y: break
            agree += 1
    print(f"| {batch} | {ours:.1f} | {theirs:.1f} | {ours / theirs:.2f}x | {ro:.0f} MiB | {rt:.0f} MiB | first {agree}/{len(ids_r[0]) if ids_r else 0} |")
runs = {(r['side'], r['batch']): [] for r in rows}
for r in rows:
    runs[(r['side'], r['batch'])].append(round(r['tokens_per_s'], 1))
print()
print("all runs (tok/s): " + "; ".join(f"{s} b{b}: {v}" for (s, b), v in sorted(runs.items())))
print(f"loads during the runs: {[r['load'] for r in rows]}")
print()
b1 = med("rust", 1, "tokens_per_s")
print(f"weights read per token (f32): {weight_bytes / 1e6:.0f} MB ({n_params / 1e6:.1f} M parameters)")
print(f"bandwidth: memcpy {copy_gbs:.1f} GB/s (read+write), read {read1_gbs:.1f} GB/s (1 thread), {readn_gbs:.1f} GB/s ({torch.get_num_threads()} threads)")
bound = bw * 1e9 / weight_bytes
print(f"batch-1 bound: {bound:.1f} tok/s at {bw:.1f} GB/s; rad3d-llm reaches {b1:.1f} tok/s = {100 * b1 / bound:.0f} % of it "
      f"(effective {b1 * weight_bytes / 1e9:.1f} GB/s)")
PYEOF
