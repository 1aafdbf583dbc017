#!/usr/bin/env python3
"""HF transformers side of scripts/bench/generate.sh: greedy decoding behind a prefix of
embeddings, float32 on CPU, timed like `rad3d generate --json`. Prints one JSON line.

The prefix is rad3d-llm's `synthetic_prefix` (x[p, j] = 0.05 sin(0.37 (p D + j) + 0.5),
computed in float64, stored as float32, identical in every row), and the prompt is given as
token ids (those the Rust side tokenized), so both sides decode exactly the same input.
`min_new_tokens = max_new_tokens` on both sides suppresses EOS so every row produces the
same number of tokens.

usage: llm_bench_hf.py --model GGUF_OR_DIR --prompt-ids 1,2,3 --batch B --prefix-len P --new N
"""
import argparse
import json
import os
import time

import numpy as np
import torch
from transformers import AutoModelForCausalLM


def synthetic_prefix(batch: int, length: int, dim: int) -> torch.Tensor:
    i = np.arange(length * dim, dtype=np.float64)
    row = (0.05 * np.sin(0.37 * i + 0.5)).astype(np.float32).reshape(1, length, dim)
    return torch.from_numpy(np.repeat(row, batch, axis=0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-ids", required=True, help="comma-separated token ids")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--prefix-len", type=int, default=10)
    ap.add_argument("--new", type=int, default=128)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    if args.model.endswith(".gguf"):
        d, f = os.path.split(os.path.abspath(args.model))
        model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
    else:
        model = AutoModelForCausalLM.from_pretrained(args.model, dtype=torch.float32)
    model.eval()
    load_s = time.perf_counter() - t0

    ids = [int(t) for t in args.prompt_ids.split(",") if t]
    input_ids = torch.tensor([ids] * args.batch, dtype=torch.long)
    prefix = synthetic_prefix(args.batch, args.prefix_len, model.config.hidden_size)
    with torch.inference_mode():
        embeds = torch.cat([prefix, model.get_input_embeddings()(input_ids)], 1)
        mask = torch.ones(embeds.shape[:2], dtype=torch.long)
        pad = model.generation_config.pad_token_id
        if pad is None:
            eos = model.generation_config.eos_token_id
            pad = eos[0] if isinstance(eos, list) else (eos or 0)
        t1 = time.perf_counter()
        out = model.generate(
            inputs_embeds=embeds,
            attention_mask=mask,
            max_new_tokens=args.new,
            min_new_tokens=args.new,
            do_sample=False,
            num_beams=1,
            pad_token_id=pad,
        )
        gen_s = time.perf_counter() - t1
    # With inputs_embeds, decoder-only generate returns only the new tokens.
    new_tokens = out.shape[0] * out.shape[1]
    print(
        json.dumps(
            {
                "ids": out[0].tolist(),
                "tokens_per_s": new_tokens / gen_s,
                "new_tokens": new_tokens,
                "batch": args.batch,
                "seconds": gen_s,
                "load_seconds": load_s,
                "threads": torch.get_num_threads(),
                "rows_identical": bool((out == out[0:1]).all()),
            }
        )
    )


if __name__ == "__main__":
    main()
