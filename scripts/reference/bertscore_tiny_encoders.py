#!/usr/bin/env python3
"""Tiny random BERT and RoBERTa encoders + their hidden states, for rad3d-metrics' encoder
parity test (every layer, padding mask, RoBERTa's position offset, exact GELU).

Writes crates/rad3d-metrics/tests/data/bertscore_tiny_{bert,roberta}/ with config.json,
model.safetensors (transformers' own save) and expected.safetensors holding
`input_ids` [2,T] (second row right-padded), `attention_mask` [2,T] and `hidden_states`
[L+1,2,T,D] (transformers' `output_hidden_states`, float32, CPU).

Usage: .venv-ref/bin/python scripts/reference/bertscore_tiny_encoders.py
"""

import os

import torch
from safetensors.torch import save_file
from transformers import BertConfig, BertModel, RobertaConfig, RobertaModel

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "crates", "rad3d-metrics", "tests", "data")


def make(name, config_cls, model_cls, pad):
    torch.manual_seed(1234)
    config = config_cls(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=48,
        max_position_embeddings=40,
        type_vocab_size=2 if config_cls is BertConfig else 1,
        pad_token_id=pad,
        layer_norm_eps=1e-12 if config_cls is BertConfig else 1e-5,
        hidden_act="gelu",
    )
    model = model_cls(config, add_pooling_layer=False).eval()
    # Non-trivial LayerNorm parameters and biases (defaults are 1 and 0).
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "LayerNorm" in n or n.endswith(".bias"):
                p.add_(torch.randn_like(p) * 0.1)
    out_dir = os.path.join(DATA, f"bertscore_tiny_{name}")
    model.save_pretrained(out_dir, safe_serialization=True)
    ids = torch.tensor([[2, 17, 33, 9, 41, 5, 3], [2, 60, 12, 3, pad, pad, pad]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]])
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
    hidden = torch.stack(out.hidden_states).contiguous()
    save_file(
        {"input_ids": ids, "attention_mask": mask.float(), "hidden_states": hidden},
        os.path.join(out_dir, "expected.safetensors"),
    )
    print(name, tuple(hidden.shape))


if __name__ == "__main__":
    make("bert", BertConfig, BertModel, 0)
    make("roberta", RobertaConfig, RobertaModel, 1)
