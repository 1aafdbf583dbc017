#!/usr/bin/env python3
"""A random-weight BioGPT (`BioGptForCausalLM`) of any size, saved by HF transformers with
reference outputs, to check rad3d-llm's BioGPT beyond the shared `tiny-biogpt` fixture.

Writes <out>/<name>/: config.json, the weights (model.safetensors, or pytorch_model.bin
with --bin, torch.save's zip format), BioGPT's tokenizer files copied from a tokenizer
folder, and fixture.safetensors with the keys `llm_fixtures.py` writes (input_ids, logits,
prefix, logits_with_prefix, greedy_ids, padded_*, beam_*, greedy_penalty). The prefix rows
live after BioGPT's sqrt(hidden) scale: inputs_embeds = cat(prefix, scaled embeddings).
Also tokenizer_cases.json (text -> ids, ids -> decoded) from `BioGptTokenizer`.

The parity test reads every folder under $RAD3D_FIXTURES/biogpt/, so pointing
RAD3D_FIXTURES at a root holding <out> = <root>/biogpt (and <root>/llm) runs it on them:

  python scripts/reference/biogpt_fixture.py --out /tmp/fx/biogpt --name biogpt-48x3 \
      --tokenizer ../shared/fixtures/biogpt/tiny-biogpt --hidden 48 --layers 3 --heads 6 \
      --intermediate 80 --vocab 150 --positions 40 --untied
"""
import argparse
import json
import os
import shutil
import sys

import torch
from safetensors.torch import save_file
from transformers import BioGptConfig, BioGptForCausalLM, BioGptTokenizer

sys.path.insert(0, os.path.dirname(__file__))
from llm_fixtures import references  # noqa: E402

TEXTS = [
    "The chest CT shows no pleural effusion.",
    "Bilateral ground-glass opacities in the lower lobes, mild cardiomegaly.",
    "A 5 mm nodule; hiatal hernia is seen (12 x 8 mm).",
    "Dr. Smith's note: e.g. 5,300 cases... \"stable\" [left] a|b <c> & d's -- fine!",
    "Unseen words: pneumothorax & bronchiectasis \u2014 3.5 cm?",
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--tokenizer", required=True, help="folder with vocab.json + merges.txt")
    ap.add_argument("--hidden", type=int, default=48)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--heads", type=int, default=6)
    ap.add_argument("--intermediate", type=int, default=80)
    ap.add_argument("--vocab", type=int, default=150)
    ap.add_argument("--positions", type=int, default=40)
    ap.add_argument("--untied", action="store_true")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--bin", action="store_true", help="save pytorch_model.bin")
    ap.add_argument("--seed", type=int, default=21)
    a = ap.parse_args()

    torch.manual_seed(a.seed)
    cfg = BioGptConfig(
        vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
        num_attention_heads=a.heads, intermediate_size=a.intermediate,
        max_position_embeddings=a.positions, initializer_range=0.2,
        scale_embedding=not a.no_scale, tie_word_embeddings=not a.untied,
        bos_token_id=0, pad_token_id=1, eos_token_id=2,
    )
    model = BioGptForCausalLM(cfg).eval()
    with torch.no_grad():
        # Non-trivial norms and biases, so every parameter matters.
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(torch.randn_like(p) * 0.1 + (1.0 if "norm" in name and name.endswith("weight") else 0.0))
    d = os.path.join(a.out, a.name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    refs = references(model, a.vocab, a.hidden, 2)
    model.save_pretrained(d)
    if a.bin:
        # What older hub folders (BioGPT-Large) ship: torch.save of the state dict, whose
        # tied `output_projection.weight` shares the embeddings' storage.
        os.remove(os.path.join(d, "model.safetensors"))
        torch.save(model.state_dict(), os.path.join(d, "pytorch_model.bin"))
    for f in os.listdir(d):
        if f.startswith("generation_config"):
            os.remove(os.path.join(d, f))
    save_file(refs, os.path.join(d, "fixture.safetensors"))
    for f in ["vocab.json", "merges.txt", "tokenizer_config.json"]:
        src = os.path.join(a.tokenizer, f)
        if os.path.exists(src):
            shutil.copy(src, d)
    tok = BioGptTokenizer.from_pretrained(d)
    cases = []
    for text in TEXTS:
        ids = tok(text)["input_ids"]
        cases.append({"text": text, "ids": ids, "decoded": tok.decode(ids, skip_special_tokens=True)})
    with open(os.path.join(d, "tokenizer_cases.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(d, sorted(os.listdir(d)))


if __name__ == "__main__":
    main()
