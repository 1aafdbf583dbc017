#!/usr/bin/env python3
"""The `rad3d` Python package against pycocoevalcap + rouge-score, same interpreter, same run.

Scores each corpus with the reference tools (pycocoevalcap Bleu(4), Meteor (the jar, JVM
start included), Rouge, Cider on basic-tokenized text; rouge-score rouge1/2/L/Lsum with the
Porter stemmer on raw text, one `score` call per pair), then with rad3d's drop-in scorers
(METEOR data loading included) and with one `rad3d.metrics.evaluate` call (every metric
of `rad3d evaluate`, tokenization and sacreBLEU included). Checks that every value agrees
(CIDEr-D per sample within 1e-15 relative, all else bit-equal) and prints one Markdown
row per corpus: medians of RUNS runs, tools alternating.

    python scripts/bench/python_bindings.py [--runs 3] [--pairs 25|3039]...

Needs an interpreter with rad3d, pycocoevalcap, rouge-score (scripts/python-check.sh makes
one) and Java; corpora: the shared metrics fixture (25 pairs) and
scripts/bench/metrics_pairs.py's 3,039 pairs.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from rouge_score import rouge_scorer

import rad3d
from rad3d import metrics

HERE = Path(__file__).resolve().parent
FIXTURES = Path(os.environ.get("RAD3D_FIXTURES", HERE.parents[2] / "shared" / "fixtures"))
TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def corpus(pairs: int, tmp: Path):
    """(refs, hyps, refs_tok, hyps_tok) of the fixture or of metrics_pairs.py's corpus."""
    if pairs == 25:
        d, names = FIXTURES / "metrics", ("public_refs", "public_hyps")
    else:
        subprocess.run([sys.executable, str(HERE / "metrics_pairs.py"), str(tmp)], check=True,
                       env={**os.environ, "RAD3D_FIXTURES": str(FIXTURES)})
        d, names = tmp, ("refs", "hyps")
    read = lambda n: (d / n).read_text(encoding="utf-8").splitlines()
    out = [read(f"{names[0]}.txt"), read(f"{names[1]}.txt"), read(f"{names[0]}.tok.txt"), read(f"{names[1]}.tok.txt")]
    assert all(len(x) == pairs for x in out), [len(x) for x in out]
    return out


def score_all(scorers, rouge, refs, hyps, refs_tok, hyps_tok):
    gts = {i: [r] for i, r in enumerate(refs_tok)}
    res = {i: [h] for i, h in enumerate(hyps_tok)}
    # Bleu alone takes (and by default prints under) `verbose`.
    coco = [s.compute_score(gts, res, verbose=0) if s.method() == "Bleu" else s.compute_score(gts, res)
            for s in scorers()]
    rs = [rouge.score(r, h) for r, h in zip(refs, hyps)]
    return coco, rs


def reference(refs, hyps, refs_tok, hyps_tok):
    return score_all(lambda: [Bleu(4), Meteor(), Rouge(), Cider()],
                     rouge_scorer.RougeScorer(TYPES, use_stemmer=True), refs, hyps, refs_tok, hyps_tok)


def ours(refs, hyps, refs_tok, hyps_tok):
    return score_all(lambda: [metrics.Bleu(4), metrics.Meteor(), metrics.Rouge(), metrics.Cider()],
                     metrics.RougeScorer(TYPES, use_stemmer=True), refs, hyps, refs_tok, hyps_tok)


def check(want, got):
    (bleu, meteor, rouge, cider), rs = want
    (bleu2, meteor2, rouge2, cider2), rs2 = got
    assert tuple(bleu2) == tuple(bleu), "BLEU"
    assert meteor2 == meteor, "METEOR"
    assert rouge2[0] == rouge[0] and np.array_equal(rouge2[1], rouge[1]), "ROUGE-L"
    rel = np.max(np.abs(cider2[1] - cider[1]) / np.abs(cider[1]).clip(1e-300))
    assert rel <= 1e-15 and abs(cider2[0] - cider[0]) <= 1e-15 * abs(cider[0]), f"CIDEr-D {rel}"
    for a, b in zip(rs, rs2):
        assert {k: tuple(v) for k, v in a.items()} == {k: tuple(v) for k, v in b.items()}, "rouge-score"
    return rel


def timed(f, *args):
    t = time.perf_counter()
    out = f(*args)
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pairs", type=int, action="append", choices=[25, 3039])
    args = ap.parse_args()
    print("| pairs | pycocoevalcap + rouge-score s | rad3d drop-in scorers s | speed-up | "
          "`rad3d.metrics.evaluate` (all metrics) s | speed-up |")
    print("|---:|---:|---:|---:|---:|---:|")
    for pairs in args.pairs or [25, 3039]:
        with tempfile.TemporaryDirectory() as tmp:
            data = corpus(pairs, Path(tmp))
        t_ref, t_ours, t_eval = [], [], []
        for _ in range(args.runs):
            t, want = timed(reference, *data)
            t_ref.append(t)
            t, got = timed(ours, *data)
            t_ours.append(t)
            t, ev = timed(lambda: metrics.evaluate(data[0], data[1]))
            t_eval.append(t)
        rel = check(want, got)
        (bleu, meteor, _, cider), _ = got
        assert [ev[f"bleu_{n}"] for n in range(1, 5)] == list(bleu[0]) and ev["meteor"] == meteor[0]
        r, o, e = (statistics.median(x) for x in (t_ref, t_ours, t_eval))
        print(f"| {pairs:,} | {r:.3f} | {o:.4f} | {r / o:.0f}× | {e:.4f} | {r / e:.0f}× |", flush=True)
        print(f"<!-- {pairs} pairs: runs ref {t_ref} ours {t_ours} evaluate {t_eval}; CIDEr-D per-sample max rel diff {rel:.1e} -->")
    print(f"rad3d {rad3d.__version__}, Python {sys.version.split()[0]}", file=sys.stderr)


if __name__ == "__main__":
    main()
