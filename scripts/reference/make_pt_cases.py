"""Writes small PyTorch `.pt` checkpoints and their expected values for rad3d-io's tests.

Run with a Python that has torch:

    python scripts/reference/make_pt_cases.py crates/rad3d-io/tests/data/pt

Each case is a file torch.save writes plus `<case>.json`: for every tensor name, its
dtype, shape and values in row-major order. Only the JSON files are kept in git: the
Rust tests write each case's checkpoint themselves in torch.save's layout (the same zip
entries and pickle opcodes, the same storages, offsets and strides as here) and check it
against torch's values; damaged variants are derived from `contiguous.pt` there too.
The `.pt` files this writes are for inspecting that layout and are ignored by git.
"""

import json
import sys
from collections import OrderedDict
from pathlib import Path

import torch


def values(t):
    return t.contiguous().reshape(-1).tolist()


def write(out, name, obj, tensors):
    # Legacy (non-zip) serialisation is not a case: torch has written zip since 1.6.
    torch.save(obj, out / f"{name}.pt")
    expected = {
        k: {"dtype": str(t.dtype).removeprefix("torch."), "shape": list(t.shape), "values": values(t)}
        for k, t in tensors.items()
    }
    (out / f"{name}.json").write_text(json.dumps(expected, indent=1) + "\n")


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "crates/rad3d-io/tests/data/pt")
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)

    # Exactly representable values, so every dtype round-trips without tolerance.
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 2.0
    contiguous = OrderedDict(weight=base.clone(), bias=torch.tensor([0.25, -1.5, 3.0]))
    write(out, "contiguous", contiguous, contiguous)

    # A transposed view keeps its storage and swaps strides: (1, 4) for shape [4, 3].
    transposed = base.clone().t()
    assert not transposed.is_contiguous()
    write(out, "transposed", {"t": transposed}, {"t": transposed})

    # Two views sharing one storage: a row slice (storage_offset 4) and a strided column.
    shared = base.clone()
    views = OrderedDict(row=shared[1], col=shared[:, 2], tail=shared[1:, 1:3])
    assert views["row"].storage_offset() == 4 and views["tail"].stride() == (4, 1)
    write(out, "offset_views", views, views)

    dtypes = OrderedDict(
        f16=base.to(torch.float16),
        bf16=base.to(torch.bfloat16),
        f64=base.to(torch.float64).t(),
        i64=torch.tensor([[7, -1, 2**40], [0, -(2**50), 3]], dtype=torch.int64),
        scalar=torch.tensor(2.5),
    )
    write(out, "dtypes", dtypes, dtypes)

    inner = OrderedDict(
        (("encoder.weight", base.clone()), ("encoder.bias", torch.tensor([1.0, 2.0]))))
    nested = {"state_dict": inner, "epoch": 3, "model": {"head": {"w": torch.tensor([[-0.5]])}}}
    write(out, "nested", nested, {
        "state_dict.encoder.weight": inner["encoder.weight"],
        "state_dict.encoder.bias": inner["encoder.bias"],
        "model.head.w": nested["model"]["head"]["w"],
    })

    # nn.Parameter values go through torch._utils._rebuild_parameter.
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        lin.bias.copy_(torch.tensor([-1.0, 0.5]))
    params = OrderedDict(lin.named_parameters())
    write(out, "parameters", params, {k: v.detach() for k, v in params.items()})


if __name__ == "__main__":
    main()
