#!/usr/bin/env python3
"""Reference METEOR 1.5 scores from the jar exactly as pycocoevalcap runs it.

Developer-only (needs Java and the reference venv with pycocoevalcap):

    .venv-ref/bin/python scripts/reference/meteor_cases.py \
        > crates/rad3d-metrics/tests/data/meteor_cases.json
    .venv-ref/bin/python scripts/reference/meteor_cases.py --pairs pairs.jsonl > out.json

Without --pairs it scores the built-in edge cases below. With --pairs it scores
a JSON-lines file of {"refs": [...], "hyp": "..."} objects. Output: one JSON
object with each case's refs, hyp, the jar's 23 statistics (`stats`) and segment
score, and the corpus score pycocoevalcap returns (from summed statistics).
"""

import argparse
import json
import sys

from pycocoevalcap.meteor.meteor import Meteor

# Edge cases: empty / one-word hypotheses, repeats, unicode, numbers, synonyms
# (WordNet sets and irregular forms), paraphrases, normaliser corner cases.
CASES = [
    (["the lungs are clear ."], "the lungs are clear ."),
    (["the lungs are clear ."], ""),
    (["no pleural effusion ."], "effusion"),
    (["effusion"], "effusion"),
    (["a"], "a"),
    (["the the the"], "the the the the the"),
    (["nodule nodule nodule nodule"], "nodule"),
    (["there is a 3.5 cm nodule in the right lower lobe ."], "a nodule of 3.5 cm is seen in the right lower lobe ."),
    (["3.5 cm"], "3,5 cm"),
    (["lesion measures 12x8 mm"], "lesion measures 12 x 8 mm"),
    (["no pneumothorax"], "pneumothoraces absent"),
    (["the heart is enlarged ."], "cardiomegaly is present ."),
    (["the heart is large ."], "the heart is big ."),
    (["mild enlargement of the heart"], "the heart is mildly enlarged"),
    (["children and mice"], "child and mouse"),
    (["the findings are consistent with pneumonia ."], "the findings are in keeping with pneumonia ."),
    (["there is no evidence of pulmonary embolism ."], "no signs of pulmonary embolism are seen ."),
    (["in addition , there is a small hiatal hernia ."], "also a small hiatus hernia is noted ."),
    (["the patient was admitted to the hospital"], "the patient was taken into hospital"),
    (["bilateral lower lobe atelectasis"], "atelectasis in both lower lobes"),
    (["Heart size is NORMAL."], "heart size is normal ."),
    (["Mr. Smith has a nodule; U.S. guidelines apply..."], "mr smith has a nodule , us guidelines apply ."),
    (["well-defined 5-mm nodule"], "well defined 5 mm nodule"),
    (["the patient's lungs don't show it"], "the patients lungs do not show it"),
    (["“quoted” text – dashes -- here"], "\"quoted\" text - dashes - here"),
    (["café naïve façade Ärzte"], "cafe naive facade arzte"),
    (["легкие чистые без очагов"], "легкие чистые"),
    (["肺野清晰 no effusion"], "肺野清晰 no effusion"),
    (["emoji 😀 test ."], "emoji 😀 test"),
    (["ⅷ ß ﬁ İstanbul ΣΟΦΟΣ"], "viii ss fi istanbul σοφος"),
    (["x ||| y"], "y"),
    (["spaced    out\ttext"], "spaced out text"),
    (["heart", "the heart is normal in size .", "lungs"], "normal heart size ."),
    (["right upper lobe nodule", "nodule in the right upper lobe"], "nodule right upper lobe"),
    (["a b c d e f g h"], "h g f e d c b a"),
    (["small left pleural effusion with adjacent atelectasis ."], "left pleural effusion is present . atelectasis in the left lower lobe ."),
]


def score(meteor, cases):
    gts = {i: refs for i, (refs, _) in enumerate(cases)}
    res = {i: [hyp] for i, (_, hyp) in enumerate(cases)}
    stats = [meteor._stat(hyp, refs) for refs, hyp in cases]
    corpus, per_sample = meteor.compute_score(gts, res)
    out = []
    for (refs, hyp), st, sc in zip(cases, stats, per_sample):
        out.append({"refs": refs, "hyp": hyp, "stats": st, "score": sc})
    return {"source": "pycocoevalcap 1.2 meteor-1.5.jar -stdio -l en -norm",
            "corpus": corpus, "cases": out}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", help="JSON lines of {refs, hyp}")
    args = ap.parse_args()
    if args.pairs:
        with open(args.pairs, encoding="utf-8") as f:
            cases = [(d["refs"], d["hyp"]) for d in map(json.loads, f) if d]
    else:
        cases = CASES
    meteor = Meteor()
    json.dump(score(meteor, cases), sys.stdout, ensure_ascii=False, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
