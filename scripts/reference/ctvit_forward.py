#!/usr/bin/env python3
"""Time one CT-CLIP image-side forward (CTViT encoder + to_visual_latent) with random weights.

Runs CT-CLIP's own reference classes from a checkout given by --ct-clip-dir (or $CT_CLIP_DIR):
transformer_maskgit/transformer_maskgit/{attention,ctvit}.py, loaded as source with the
hard-coded CUDA device replaced by CPU and torchvision replaced by an empty stand-in (only the
GAN/VGG training losses use it; they are disabled with use_vgg_and_gan=False so the
discriminator does not count against memory). Needs torch, einops, beartype and
vector-quantize-pytorch==1.1.2.

Prints one JSON line: {"impl": "pytorch", "seconds": ..., "peak_rss_mb": ..., ...}.
"""
import argparse
import json
import os
import resource
import sys
import time
import types
from pathlib import Path


def load_reference(ct_clip_dir: Path):
    pkg_dir = ct_clip_dir / "transformer_maskgit" / "transformer_maskgit"
    stub = types.ModuleType("torchvision")
    stub.transforms = types.ModuleType("torchvision.transforms")
    stub.utils = types.ModuleType("torchvision.utils")
    sys.modules.setdefault("torchvision", stub)
    pkg = types.ModuleType("transformer_maskgit")
    pkg.__path__ = [str(pkg_dir)]
    sys.modules["transformer_maskgit"] = pkg
    for name in ("attention", "ctvit"):
        source = (pkg_dir / f"{name}.py").read_text()
        source = source.replace("torch.device('cuda')", "torch.device('cpu')")
        module = types.ModuleType(f"transformer_maskgit.{name}")
        module.__file__ = str(pkg_dir / f"{name}.py")
        sys.modules[module.__name__] = module
        exec(compile(source, module.__file__, "exec"), module.__dict__)
        setattr(pkg, name, module)
    return sys.modules["transformer_maskgit.ctvit"].CTViT


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ct-clip-dir", default=os.environ.get("CT_CLIP_DIR"))
    parser.add_argument("--frames", type=int, default=240)
    parser.add_argument("--size", type=int, default=480)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    if not args.ct_clip_dir:
        sys.exit("set --ct-clip-dir or CT_CLIP_DIR to a CT-CLIP checkout")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    CTViT = load_reference(Path(args.ct_clip_dir))
    torch.manual_seed(0)
    encoder = CTViT(
        dim=512, codebook_size=8192, image_size=args.size, patch_size=20,
        temporal_patch_size=10, spatial_depth=4, temporal_depth=4, dim_head=32, heads=8,
        use_vgg_and_gan=False,
    ).eval()
    grid = args.size // 20
    to_visual_latent = torch.nn.Linear(grid * grid * 512, 512, bias=False)
    video = torch.rand(1, 1, args.frames, args.size, args.size) * 2 - 1
    times = []
    with torch.no_grad():
        for _ in range(args.runs):
            start = time.perf_counter()
            tokens = encoder(video, return_encoded_tokens=True)
            pooled = tokens.mean(dim=1).reshape(tokens.shape[0], -1)
            latent = torch.nn.functional.normalize(to_visual_latent(pooled), dim=-1)
            times.append(time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "threads": torch.get_num_threads(),
        "shape": [1, 1, args.frames, args.size, args.size], "seconds": min(times),
        "all_seconds": times, "peak_rss_mb": peak, "latent_norm": float(latent.norm()),
    }))


if __name__ == "__main__":
    main()
