#!/usr/bin/env python3
"""Time (and score) the Python reference tools on the benchmark pairs.

usage: metrics_reference.py DIR OUT.json [BOOTSTRAP_RESAMPLES_TO_TIME]
pycocoevalcap's BLEU, METEOR (its bundled METEOR 1.5 jar, JVM start included), ROUGE-L and
CIDEr-D on DIR/{hyps,refs}.tok.txt; rouge-score (rouge1, rouge2, rougeL, rougeLsum, Porter
stemmer) and sacreBLEU on the raw files; a naive bootstrap of corpus BLEU with
pycocoevalcap (a few resamples timed, the 5,000-resample time extrapolated).
"""
import contextlib
import io
import json
import random
import sys
import time

from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.meteor.meteor import Meteor
from pycocoevalcap.rouge.rouge import Rouge
from rouge_score import rouge_scorer
import sacrebleu


def lines(path):
    return open(path, encoding="utf-8").read().splitlines()


def main():
    d, out = sys.argv[1], sys.argv[2]
    n_boot = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    ht, rt = lines(f"{d}/hyps.tok.txt"), lines(f"{d}/refs.tok.txt")
    hr, rr = lines(f"{d}/hyps.txt"), lines(f"{d}/refs.txt")
    gts = {i: [r] for i, r in enumerate(rt)}
    res = {i: [h] for i, h in enumerate(ht)}
    t, scores = {}, {}

    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, _ = Bleu(4).compute_score(gts, res, verbose=0)
    t["coco_bleu"] = time.perf_counter() - t0
    for k in range(4):
        scores[f"bleu_{k + 1}"] = bleu[k]

    t0 = time.perf_counter()
    meteor_scorer = Meteor()
    scores["meteor"], _ = meteor_scorer.compute_score(gts, res)
    t["coco_meteor"] = time.perf_counter() - t0
    del meteor_scorer

    t0 = time.perf_counter()
    scores["rouge_l"], _ = Rouge().compute_score(gts, res)
    t["coco_rouge_l"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    scores["cider_d"], _ = Cider().compute_score(gts, res)
    t["coco_cider_d"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)
    rs = [scorer.score(r, h) for r, h in zip(rr, hr)]
    t["rouge_score"] = time.perf_counter() - t0
    for k in ["rouge1", "rouge2", "rougeL"]:
        scores[f"{k}_f"] = sum(s[k].fmeasure for s in rs) / len(rs)

    t0 = time.perf_counter()
    scores["sacrebleu"] = sacrebleu.corpus_bleu(hr, [rr]).score
    t["sacrebleu"] = time.perf_counter() - t0

    rng = random.Random(0)
    t0 = time.perf_counter()
    for _ in range(n_boot):
        idx = [rng.randrange(len(ht)) for _ in range(len(ht))]
        g = {j: [rt[i]] for j, i in enumerate(idx)}
        r = {j: [ht[i]] for j, i in enumerate(idx)}
        with contextlib.redirect_stdout(io.StringIO()):
            Bleu(4).compute_score(g, r, verbose=0)
    per = (time.perf_counter() - t0) / n_boot
    t["naive_bootstrap_bleu_per_resample"] = per
    t["naive_bootstrap_bleu_5000_extrapolated"] = per * 5000

    t["coco_four_scorers"] = t["coco_bleu"] + t["coco_meteor"] + t["coco_rouge_l"] + t["coco_cider_d"]
    json.dump({"scores": scores, "seconds": t}, open(out, "w"), indent=1)


if __name__ == "__main__":
    main()
