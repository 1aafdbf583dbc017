#!/usr/bin/env python3
"""PyTorch reference for scripts/bench/train_step.sh: one V-3 optimizer step.

Frozen SmolLM2-135M (random weights of the shape in CONFIG_JSON; transformers'
LlamaForCausalLM), ClipCap TransformerMapper (input 512 + 18, D = 576, prefix = clip =
10, 8 layers) trained with Adam(lr 2e-5), batch 4, 128 report tokens, loss = next-token
NLL on the report tokens only. Prints one JSON line like the Rust side.

Usage: python train_step_torch.py CONFIG_JSON [STEPS]
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from projector_clipcap import TransformerMapper  # noqa: E402


def main():
    cfg_path = sys.argv[1]
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.manual_seed(0)
    with open(cfg_path) as f:
        raw = json.load(f)
    raw.pop("quantization_config", None)
    config = LlamaConfig(**{k: v for k, v in raw.items() if not k.startswith("_")})
    llm = LlamaForCausalLM(config).float().eval()
    for p in llm.parameters():
        p.requires_grad_(False)
    mapper = TransformerMapper(530, config.hidden_size, 10, 10, 8)
    trainable = sum(p.numel() for p in mapper.parameters())
    opt = torch.optim.Adam(mapper.parameters(), lr=2e-5)
    emb = llm.get_input_embeddings()
    batch, tokens = 4, 128
    times, phases = [], [0.0, 0.0, 0.0]
    for i in range(steps + 1):
        x = torch.randn(batch, 530)
        ids = torch.randint(0, config.vocab_size, (batch, tokens))
        t0 = time.perf_counter()
        prefix = mapper(x)
        inputs = torch.cat([prefix, emb(ids[:, :-1])], dim=1)
        logits = llm(inputs_embeds=inputs).logits
        p = prefix.shape[1]
        pred = logits[:, p - 1:p - 1 + tokens]
        loss = F.cross_entropy(pred.reshape(-1, pred.shape[-1]), ids.reshape(-1))
        t1 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if i > 0:
            times.append(t3 - t0)
            for k, d in enumerate((t1 - t0, t2 - t1, t3 - t2)):
                phases[k] += d / steps
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": f"PyTorch {torch.__version__} ({torch.get_num_threads()} threads)",
                      "seconds_per_step": round(sum(times) / len(times), 4), "steps": len(times),
                      "forward_s": round(phases[0], 4), "backward_s": round(phases[1], 4),
                      "optimizer_s": round(phases[2], 4),
                      "peak_rss_mb": round(peak_mb), "trainable_params": trainable,
                      "adam_state_tensors": len(opt.state)}))


if __name__ == "__main__":
    main()
