#!/usr/bin/env python3
"""Reference BERTScore values from the `bert-score` package for rad3d-metrics' tests.

Scores edge-case pairs (empty candidate/reference, one word, repeated n-grams, unicode,
numbers, a report longer than 128 word pieces, duplicates) plus the public fixture pairs
with all-MiniLM-L6-v2 (fetched by scripts/fetch-assets.sh), layer 6, in three settings:
plain, idf, and idf + baseline rescaling with tests/data/bertscore_baseline.csv.

Writes crates/rad3d-metrics/tests/data/bertscore_cases.json.

Usage: .venv-ref/bin/python scripts/reference/bertscore_cases.py [MODEL_DIR]
"""

import json
import os
import sys

import torch
from bert_score import score
from transformers import BertTokenizer

# bert-score encodes an empty sentence with `build_inputs_with_special_tokens([])`, which
# transformers 5 no longer has; restore transformers 4's BertTokenizer behaviour.
if not hasattr(BertTokenizer, "build_inputs_with_special_tokens"):
    BertTokenizer.build_inputs_with_special_tokens = (
        lambda self, ids, pair=None: [self.cls_token_id] + list(ids) + [self.sep_token_id]
    )

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "crates", "rad3d-metrics", "tests", "data")


def main():
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "assets", "all-MiniLM-L6-v2")
    torch.manual_seed(0)
    long_report = " ".join(
        ["The lungs are clear without focal consolidation, effusion or pneumothorax."] * 12
    )
    refs = [
        "No acute cardiopulmonary process.",
        "Mild cardiomegaly. Small left pleural effusion.",
        "Nodule measuring 3.5 cm in the right upper lobe.",
        "",
        "Effusion.",
        "There is a 2.1 x 1.8 cm mass. There is a 2.1 x 1.8 cm mass.",
        "Ödem der Lunge; kein Erguss — Befund stabil.",
        long_report,
        "Heart size is normal.",
        "Heart size is normal.",
        "   Trailing   and leading whitespace   ",
    ]
    hyps = [
        "No acute cardiopulmonary process.",
        "Heart is enlarged. Left effusion.",
        "3.5 cm nodule, right upper lobe.",
        "Normal chest.",
        "",
        "mass mass mass mass",
        "Lungenödem ohne Erguss ✓ 😀",
        "The lungs are clear.",
        "Heart size is normal.",
        "Pneumothorax on the right.",
        "trailing and leading whitespace",
    ]
    with open(os.path.join(ROOT, "..", "shared", "fixtures", "metrics", "public_refs.txt")) as f:
        pub_refs = f.read().splitlines()
    with open(os.path.join(ROOT, "..", "shared", "fixtures", "metrics", "public_hyps.txt")) as f:
        pub_hyps = f.read().splitlines()
    refs += pub_refs
    hyps += pub_hyps
    baseline = os.path.join(DATA, "bertscore_baseline.csv")
    out = {"model": "all-MiniLM-L6-v2", "layer": 6, "refs": refs, "hyps": hyps}
    settings = {
        "plain": dict(idf=False),
        "idf": dict(idf=True),
        "idf_rescaled": dict(idf=True, rescale_with_baseline=True, baseline_path=baseline, lang="en"),
    }
    for name, kwargs in settings.items():
        P, R, F = score(
            hyps, refs, model_type=model, num_layers=6, batch_size=64, device="cpu", **kwargs
        )
        out[name] = {"P": P.tolist(), "R": R.tolist(), "F": F.tolist()}
    with open(os.path.join(DATA, "bertscore_cases.json"), "w") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
    print(f"wrote {len(refs)} pairs x {len(settings)} settings")


if __name__ == "__main__":
    main()
