#!/usr/bin/env python3
"""A tiny random GPT-2 with cross-attention (HF `GPT2LMHeadModel`, `add_cross_attention=True`)
and its reference outputs, for rad3d-llm's cross-attention parity test.

Writes crates/rad3d-llm/tests/data/gpt2-cross-attention/{config.json, model.safetensors,
cross_fixture.safetensors}. Every weight (norms and biases included) is drawn at random
with a wide spread so each one moves the logits. The fixture holds (float32, CPU):
  input_ids [2,6], encoder [2,3,D] (encoder_hidden_states), logits [2,6,V];
  prefix [2,2,D], logits_with_prefix [2,8,V] (inputs_embeds = [prefix ; embed(ids)]);
  encoder1 [2,1,D] with logits_encoder1 [2,6,V] (one encoder state, as image conditioning uses);
  greedy_ids [2,6+8] and beam3_ids [2,6+8] (num_beams 3, repetition 2.0, length penalty 2.0),
  both continuing input_ids with `encoder`, eos disabled.

Usage: /work/venv-ref/bin/python scripts/reference/gpt2_cross_attention.py
"""
import os

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel

OUT = os.path.join(
    os.path.dirname(__file__), "../../crates/rad3d-llm/tests/data/gpt2-cross-attention"
)


def main():
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=48,
        n_embd=16,
        n_layer=2,
        n_head=2,
        n_positions=32,
        bos_token_id=0,
        eos_token_id=1,
        add_cross_attention=True,
    )
    model = GPT2LMHeadModel(config).eval()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (1.0 if p.dim() == 1 else 0.0) * 0.1)
    os.makedirs(OUT, exist_ok=True)
    model.save_pretrained(OUT, safe_serialization=True)
    os.remove(os.path.join(OUT, "generation_config.json"))
    d, v = config.n_embd, config.vocab_size
    ids = torch.randint(2, v, (2, 6), generator=g)
    enc = torch.randn(2, 3, d, generator=g)
    prefix = torch.randn(2, 2, d, generator=g)
    enc1 = torch.randn(2, 1, d, generator=g)
    out = {"input_ids": ids, "encoder": enc, "prefix": prefix, "encoder1": enc1}
    with torch.no_grad():
        out["logits"] = model(input_ids=ids, encoder_hidden_states=enc).logits
        emb = model.get_input_embeddings()(ids)
        out["logits_with_prefix"] = model(
            inputs_embeds=torch.cat([prefix, emb], 1), encoder_hidden_states=enc
        ).logits
        out["logits_encoder1"] = model(input_ids=ids, encoder_hidden_states=enc1).logits
        common = dict(do_sample=False, eos_token_id=None, pad_token_id=1, max_new_tokens=8)
        out["greedy_ids"] = model.generate(ids, encoder_hidden_states=enc, **common)
        out["beam3_ids"] = model.generate(
            ids,
            encoder_hidden_states=enc,
            num_beams=3,
            repetition_penalty=2.0,
            length_penalty=2.0,
            **common,
        )
    out = {k: v.float().contiguous() for k, v in out.items()}
    save_file(out, os.path.join(OUT, "cross_fixture.safetensors"))
    print({k: tuple(v.shape) for k, v in out.items()})


if __name__ == "__main__":
    main()
