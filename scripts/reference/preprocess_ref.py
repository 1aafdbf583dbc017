#!/usr/bin/env python3
"""Reference CT-CLIP preprocessing with nibabel + PyTorch (developer tool).

Mirrors CT-CLIP's data loader (`nii_img_to_tensor` + `resize_array`) with one addition
the Rust crate makes explicit: the volume is first reoriented to nibabel axis codes
(L, P, S), the orientation CT-RATE stores, so any input orientation gives the same
tensor. Steps: get_fdata (float64 HU, scl_slope/inter applied) → reorient to LPS →
transpose to (S, L, P) = (t, h, w) → F.interpolate(trilinear, align_corners=False)
to spacing (1.5, 0.75, 0.75) mm with size int(n * current / target) → clip to
[-1000, 1000] / 1000 → centre crop / pad to (240, 480, 480) with -1.

Usage:
  preprocess_ref.py INPUT.nii[.gz] --out OUT.safetensors [--json] [--dtype float64|float32]
  preprocess_ref.py INPUT --fixture FIXTURE.safetensors   # compact fixture for the Rust test
  preprocess_ref.py INPUT --compare RUST_OUT.safetensors  # max |Δ| over the whole tensor

Run with /work/main/.venv-ref/bin/python (torch, nibabel, safetensors).
"""

import argparse
import json
import os
import sys

import nibabel as nib
import numpy as np
import torch
import torch.nn.functional as F
from safetensors.numpy import load_file, save_file

TARGET_SPACING = (1.5, 0.75, 0.75)  # (t, h, w) mm
TARGET_SHAPE = (480, 480, 240)  # (h, w, t) as CT-CLIP writes it
HU_MIN, HU_MAX = -1000, 1000


def load_lps(path):
    """HU array reoriented to nibabel LPS, with its voxel sizes and input axcodes."""
    img = nib.load(path)
    ornt = nib.orientations.io_orientation(img.affine)
    axcodes = "".join(nib.orientations.ornt2axcodes(ornt))
    transform = nib.orientations.ornt_transform(ornt, nib.orientations.axcodes2ornt(("L", "P", "S")))
    data = nib.orientations.apply_orientation(img.get_fdata(), transform)
    affine = img.affine @ nib.orientations.inv_ornt_aff(transform, img.shape[:3])
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(0))
    return data, zooms, axcodes


def resize_array(array, current_spacing, target_spacing):
    """CT-CLIP's resize_array."""
    original_shape = array.shape[2:]
    scaling_factors = [current_spacing[i] / target_spacing[i] for i in range(len(original_shape))]
    new_shape = [int(original_shape[i] * scaling_factors[i]) for i in range(len(original_shape))]
    return F.interpolate(array, size=new_shape, mode="trilinear", align_corners=False).cpu().numpy()


def preprocess(path, dtype):
    data, zooms, axcodes = load_lps(path)
    current = (zooms[2], zooms[0], zooms[1])  # (S, L, P)
    data = data.transpose(2, 0, 1)
    tensor = torch.from_numpy(np.ascontiguousarray(data, dtype=dtype)).unsqueeze(0).unsqueeze(0)
    del data
    img = resize_array(tensor, current, TARGET_SPACING)[0][0]
    del tensor
    resampled = list(img.shape)
    img = np.transpose(img, (1, 2, 0))
    img = np.clip(img, HU_MIN, HU_MAX)
    img = (img / 1000).astype(np.float32)
    tensor = torch.tensor(img)
    del img
    h, w, d = tensor.shape
    dh, dw, dd = TARGET_SHAPE
    h_start, w_start, d_start = max((h - dh) // 2, 0), max((w - dw) // 2, 0), max((d - dd) // 2, 0)
    tensor = tensor[h_start:min(h_start + dh, h), w_start:min(w_start + dw, w), d_start:min(d_start + dd, d)]
    pad_h_before = (dh - tensor.size(0)) // 2
    pad_h_after = dh - tensor.size(0) - pad_h_before
    pad_w_before = (dw - tensor.size(1)) // 2
    pad_w_after = dw - tensor.size(1) - pad_w_before
    pad_d_before = (dd - tensor.size(2)) // 2
    pad_d_after = dd - tensor.size(2) - pad_d_before
    tensor = F.pad(
        tensor,
        (pad_d_before, pad_d_after, pad_w_before, pad_w_after, pad_h_before, pad_h_after),
        value=-1,
    )
    out = tensor.permute(2, 0, 1).contiguous().numpy()  # (t, h, w)
    return out, axcodes, resampled


def stats(out):
    o = out.astype(np.float64)
    return [float(o.mean()), float(o.std()), float(out.min()), float(out.max())]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?")
    ap.add_argument("--out")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--dtype", default="float64", choices=["float64", "float32"],
                    help="interpolation precision (CT-CLIP's get_fdata gives float64)")
    ap.add_argument("--fixture", help="write a compact reference fixture here")
    ap.add_argument("--compare", help="print max |delta| against this safetensors output")
    args = ap.parse_args()
    if not args.input:
        ap.error("INPUT is required")

    out, axcodes, resampled = preprocess(args.input, np.dtype(args.dtype))
    if args.out:
        save_file({"volume": out[None]}, args.out,
                  metadata={"input_orientation": axcodes, "resampled_size": str(resampled)})
    if args.json:
        m, s, lo, hi = stats(out)
        print(json.dumps({"shape": [1, *out.shape], "mean": m, "std": s, "min": lo, "max": hi,
                          "input_orientation": axcodes, "resampled_size": resampled}))
    if args.fixture:
        fixture = {
            "grid": np.ascontiguousarray(out[3::8, 5::12, 7::12]),
            "line_t": np.ascontiguousarray(out[:, 237, 241]),
            "line_h": np.ascontiguousarray(out[120, :, 243]),
            "line_w": np.ascontiguousarray(out[118, 239, :]),
            "patch": np.ascontiguousarray(out[120, 208:272, 208:272]),
            "stats": np.array(stats(out), dtype=np.float64),
            "resampled_size": np.array(resampled, dtype=np.int64),
        }
        save_file(fixture, args.fixture, metadata={
            "input_orientation": axcodes,
            "source": os.path.basename(args.input),
            "dtype": args.dtype,
            "torch": torch.__version__,
            "nibabel": nib.__version__,
            "grid": "out[3::8, 5::12, 7::12]",
            "line_t": "out[:, 237, 241]",
            "line_h": "out[120, :, 243]",
            "line_w": "out[118, 239, :]",
            "patch": "out[120, 208:272, 208:272]",
        })
    if args.compare:
        other = load_file(args.compare)["volume"].reshape(out.shape)
        delta = np.abs(other.astype(np.float64) - out.astype(np.float64))
        print(json.dumps({"compare": args.compare, "max_abs_delta": float(delta.max()),
                          "mean_abs_delta": float(delta.mean()), "voxels": int(out.size)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
