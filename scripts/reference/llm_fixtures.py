#!/usr/bin/env python3
"""Random-weight LLaMA / GPT-2 models with configurations other than the shared fixtures,
saved by HF transformers, plus reference outputs, for rad3d-llm's parity test.

Writes crates/rad3d-llm/tests/data/<name>/{config.json, model.safetensors (or shards),
fixture.safetensors}. Each fixture holds (float32, CPU):
  input_ids [1,8], logits [1,8,V], prefix [1,4,D], logits_with_prefix [1,12,V],
  greedy_ids [1,16] (greedy, model eos), padded_ids/padded_mask [2,8] (row 0 left-padded),
  padded_logits [2,8,V] (positions from the mask, as generate computes them),
  padded_greedy [2,14] (batched greedy, eos disabled),
  beam_r2gengpt (beams 3, repetition 2.0, length penalty 2.0, 10 new),
  beam_ngram (beams 4, early_stopping, no_repeat_ngram 2, min_new 4, 10 new),
  greedy_penalty (repetition 1.5, no_repeat_ngram 3, 10 new).

Usage: .venv-ref/bin/python scripts/reference/llm_fixtures.py
"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

OUT = os.path.join(os.path.dirname(__file__), "../../crates/rad3d-llm/tests/data")


def positions(mask):
    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def references(model, vocab, hidden, eos):
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(3, vocab, (1, 8), generator=g)
    prefix = torch.randn(1, 4, hidden, generator=g)
    out = {"input_ids": ids, "prefix": prefix}
    with torch.no_grad():
        out["logits"] = model(input_ids=ids).logits
        emb = model.get_input_embeddings()(ids)
        out["logits_with_prefix"] = model(inputs_embeds=torch.cat([prefix, emb], 1)).logits
        out["greedy_ids"] = model.generate(ids, max_new_tokens=8, do_sample=False, eos_token_id=eos, pad_token_id=eos)
        pids = torch.randint(3, vocab, (2, 8), generator=g)
        mask = torch.ones(2, 8, dtype=torch.long)
        mask[0, :3] = 0
        pids[0, :3] = 0
        out["padded_ids"], out["padded_mask"] = pids, mask
        out["padded_logits"] = model(input_ids=pids, attention_mask=mask, position_ids=positions(mask)).logits
        out["padded_greedy"] = model.generate(
            pids, attention_mask=mask, max_new_tokens=6, do_sample=False, eos_token_id=None, pad_token_id=0
        )
        common = dict(do_sample=False, eos_token_id=eos, pad_token_id=eos, max_new_tokens=10)
        out["beam_r2gengpt"] = model.generate(
            ids, num_beams=3, repetition_penalty=2.0, length_penalty=2.0, **common
        )
        out["beam_ngram"] = model.generate(
            ids, num_beams=4, early_stopping=True, no_repeat_ngram_size=2, min_new_tokens=4, **common
        )
        out["greedy_penalty"] = model.generate(ids, repetition_penalty=1.5, no_repeat_ngram_size=3, **common)
    return {k: v.contiguous() for k, v in out.items()}


def to_old_rope_form(path):
    """Rewrites `rope_parameters` into the hub's `rope_theta` + `rope_scaling` spelling."""
    with open(path) as f:
        cfg = json.load(f)
    rp = cfg.pop("rope_parameters")
    cfg["rope_theta"] = rp.pop("rope_theta")
    cfg["rope_scaling"] = None if rp.get("rope_type") == "default" else rp
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)


def save(name, model, cfg_vocab, hidden, eos, dtype=None, shard=None, old_rope=False, no_prefix=False):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    if dtype is not None:
        # References are computed from the rounded weights, so loading must convert exactly.
        # Only parameters are rounded: `model.to(dtype)` would also round the rotary
        # `inv_freq` buffer, which loaders recompute in float32.
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(p.to(dtype).to(torch.float32))
    refs = references(model, cfg_vocab, hidden, eos)
    if no_prefix:
        # GPT2Model-style names (as on the hub): no `transformer.` prefix.
        model.config.save_pretrained(d)
        sd = {k: v.contiguous() for k, v in model.transformer.state_dict().items()}
        save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    else:
        m = model.to(dtype) if dtype is not None else model
        kwargs = {"max_shard_size": shard} if shard else {}
        m.save_pretrained(d, **kwargs)
        model.to(torch.float32)
    if old_rope:
        to_old_rope_form(os.path.join(d, "config.json"))
    save_file(refs, os.path.join(d, "fixture.safetensors"))
    for f in os.listdir(d):
        if f.startswith("generation_config"):
            os.remove(os.path.join(d, f))
    print(name, sorted(os.listdir(d)))


def llama(seed, **kw):
    torch.manual_seed(seed)
    cfg = LlamaConfig(initializer_range=0.2, num_hidden_layers=2, bos_token_id=1, eos_token_id=2, **kw)
    return LlamaForCausalLM(cfg).eval(), cfg


def main():
    os.makedirs(OUT, exist_ok=True)
    # Plain multi-head attention, untied lm_head, rope without scaling, hub rope spelling.
    m, c = llama(10, vocab_size=300, hidden_size=48, intermediate_size=96, num_attention_heads=4,
                 num_key_value_heads=4, tie_word_embeddings=False, max_position_embeddings=64,
                 rope_parameters={"rope_type": "default", "rope_theta": 10000.0})
    save("llama-mha-untied", m, 300, 48, 2, old_rope=True)
    # GQA ratio 4, explicit head_dim (q width 64 != hidden 40), biases, linear rope scaling, bf16 weights.
    m, c = llama(11, vocab_size=200, hidden_size=40, intermediate_size=72, num_attention_heads=8,
                 num_key_value_heads=2, head_dim=8, attention_bias=True, mlp_bias=True,
                 tie_word_embeddings=True, max_position_embeddings=64,
                 rope_parameters={"rope_type": "linear", "factor": 2.0, "rope_theta": 20000.0})
    save("llama-gqa4-bias-bf16", m, 200, 40, 2, dtype=torch.bfloat16)
    # Multi-query (1 kv head), LLaMA-3 scaling in the hub spelling, f16 weights in shards.
    m, c = llama(12, vocab_size=128, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                 num_key_value_heads=1, tie_word_embeddings=True, max_position_embeddings=64,
                 rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0,
                                  "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                  "original_max_position_embeddings": 16})
    save("llama-mqa-llama3-f16-sharded", m, 128, 32, 2, dtype=torch.float16, shard="20KB", old_rope=True)
    # GPT-2 with 2 heads, custom n_inner, other vocab.
    torch.manual_seed(13)
    gc = GPT2Config(vocab_size=150, n_embd=32, n_layer=2, n_head=2, n_inner=80, n_positions=64,
                    initializer_range=0.2, bos_token_id=0, eos_token_id=0)
    save("gpt2-2heads", GPT2LMHeadModel(gc).eval(), 150, 32, 0)
    # GPT-2 with 8 heads, 3 layers, saved under GPT2Model names.
    torch.manual_seed(14)
    gc = GPT2Config(vocab_size=100, n_embd=64, n_layer=3, n_head=8, n_positions=48,
                    initializer_range=0.2, bos_token_id=0, eos_token_id=0)
    save("gpt2-8heads-noprefix", GPT2LMHeadModel(gc).eval(), 100, 64, 0, no_prefix=True)


if __name__ == "__main__":
    main()
