#!/usr/bin/env python3
"""Reference fixtures for rad3d-projector: ClipCap's TransformerMapper re-implemented in torch.

The classes below follow rmokady/CLIP_prefix_caption train.py (MlpTransformer,
MultiHeadAttention, TransformerLayer, Transformer, TransformerMapper) so that the state
dict keys and the arithmetic are the same. The script first checks itself against the
shared fixture ($RAD3D_FIXTURES/projector/clipcap_mapper.safetensors), then writes small
fixtures with configurations the shared one does not cover (clip_len != prefix_len,
other depths, widths and head counts) into crates/rad3d-projector/tests/data/.

Usage: .venv-ref/bin/python scripts/reference/projector_clipcap.py
"""
import json
import os
import sys
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = Path(os.environ.get("RAD3D_FIXTURES", ROOT.parent / "shared" / "fixtures"))
OUT = ROOT / "crates" / "rad3d-projector" / "tests" / "data"


class MlpTransformer(nn.Module):
    def __init__(self, in_dim, h_dim):
        super().__init__()
        self.fc1 = nn.Linear(in_dim, h_dim)
        self.fc2 = nn.Linear(h_dim, in_dim)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


class MultiHeadAttention(nn.Module):
    def __init__(self, dim_self, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (dim_self // num_heads) ** -0.5
        self.to_queries = nn.Linear(dim_self, dim_self, bias=False)
        self.to_keys_values = nn.Linear(dim_self, dim_self * 2, bias=False)
        self.project = nn.Linear(dim_self, dim_self)

    def forward(self, x):
        b, n, c = x.shape
        q = self.to_queries(x).reshape(b, n, self.num_heads, c // self.num_heads)
        kv = self.to_keys_values(x).reshape(b, n, 2, self.num_heads, c // self.num_heads)
        k, v = kv[:, :, 0], kv[:, :, 1]
        att = torch.einsum("bnhd,bmhd->bnmh", q, k) * self.scale
        att = att.softmax(dim=2)
        out = torch.einsum("bnmh,bmhd->bnhd", att, v).reshape(b, n, c)
        return self.project(out)


class TransformerLayer(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MlpTransformer(dim, int(dim * mlp_ratio))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    def __init__(self, dim, num_heads, num_layers, mlp_ratio=2.0):
        super().__init__()
        self.layers = nn.ModuleList(
            [TransformerLayer(dim, num_heads, mlp_ratio) for _ in range(num_layers)]
        )

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x


class TransformerMapper(nn.Module):
    def __init__(self, dim_clip, dim_embedding, prefix_length, clip_length, num_layers,
                 num_heads=8, mlp_ratio=2.0):
        super().__init__()
        self.clip_length = clip_length
        self.transformer = Transformer(dim_embedding, num_heads, num_layers, mlp_ratio)
        self.linear = nn.Linear(dim_clip, clip_length * dim_embedding)
        self.prefix_const = nn.Parameter(torch.randn(prefix_length, dim_embedding))

    def transformer_in(self, x):
        x = self.linear(x).view(x.shape[0], self.clip_length, -1)
        prefix = self.prefix_const.unsqueeze(0).expand(x.shape[0], *self.prefix_const.shape)
        return torch.cat((x, prefix), dim=1)

    def forward(self, x):
        return self.transformer(self.transformer_in(x))[:, self.clip_length:]


def check_shared():
    path = FIXTURES / "projector" / "clipcap_mapper.safetensors"
    if not path.exists():
        print(f"skip self-check: {path} missing")
        return
    with safe_open(str(path), "pt") as f:
        cfg = json.loads(f.metadata()["config"])
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    m = TransformerMapper(cfg["dim_clip"], cfg["dim_embedding"], cfg["prefix_length"],
                          cfg["clip_length"], cfg["num_layers"], cfg["num_heads"],
                          cfg["mlp_hidden"] / cfg["dim_embedding"])
    m.load_state_dict({k: v for k, v in tensors.items() if not k.startswith("fixture.")})
    with torch.no_grad():
        out = m(tensors["fixture.input"])
    err = (out - tensors["fixture.output"]).abs().max().item()
    print(f"self-check against {path.name}: max |d| = {err:.2e}")
    assert err < 1e-5, "re-implementation disagrees with the shared fixture"


def make(name, seed, batch, dim_clip, dim_embedding, prefix_length, clip_length, num_layers,
         num_heads=8, mlp_ratio=2.0):
    torch.manual_seed(seed)
    m = TransformerMapper(dim_clip, dim_embedding, prefix_length, clip_length, num_layers,
                          num_heads, mlp_ratio).eval()
    # Non-degenerate LayerNorm affine parameters so a swapped weight/bias would show.
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.LayerNorm):
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.3, 0.3)
    x = torch.randn(batch, dim_clip)
    with torch.no_grad():
        t_in = m.transformer_in(x)
        t_out = m.transformer(t_in)
        out = m(x)
    tensors = {k: v.contiguous() for k, v in m.state_dict().items()}
    tensors.update({"fixture.input": x, "fixture.transformer_in": t_in,
                    "fixture.transformer_out": t_out, "fixture.output": out.contiguous()})
    cfg = dict(batch=batch, dim_clip=dim_clip, dim_embedding=dim_embedding,
               prefix_length=prefix_length, clip_length=clip_length, num_layers=num_layers,
               num_heads=num_heads, head_dim=dim_embedding // num_heads,
               mlp_hidden=int(dim_embedding * mlp_ratio), seed=seed,
               reference={"class": "scripts/reference/projector_clipcap.py:TransformerMapper",
                          "follows": "github.com/rmokady/CLIP_prefix_caption train.py",
                          "torch": torch.__version__})
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.safetensors"
    save_file(tensors, str(path), metadata={"format": "pt", "config": json.dumps(cfg, sort_keys=True)})
    size = path.stat().st_size
    assert size < 500_000, f"{path} is {size} bytes"
    print(f"wrote {path.relative_to(ROOT)} ({size} bytes)")


if __name__ == "__main__":
    torch.set_default_dtype(torch.float32)
    check_shared()
    # clip_len != prefix_len, shallow, 4 heads
    make("mapper_clip3_prefix5_l2_h4", 11, 2, 24, 32, 5, 3, 2, num_heads=4)
    # prefix shorter than clip, deeper, 16 heads, V-3-like input width (latent + 18 logits)
    make("mapper_clip7_prefix2_l4_h16", 12, 3, 50, 48, 2, 7, 4, num_heads=16)
    # single layer, mlp ratio 4 (hidden 160), one head
    make("mapper_clip4_prefix4_l1_h1_mlp4", 13, 1, 30, 40, 4, 4, 1, num_heads=1, mlp_ratio=4.0)
    sys.exit(0)
