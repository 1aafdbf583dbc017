#!/usr/bin/env python3
"""Edge-case fixture for rad3d-metrics, scored by the reference tools.

Writes crates/rad3d-metrics/tests/data/metrics_cases.json: small corpora (empty
hypothesis, one-word reports, repeated n-grams, unicode, numbers such as "3.5 cm",
odd whitespace, multi-line reports, several references) scored by pycocoevalcap
(BLEU-1..4 closest, ROUGE-L, CIDEr-D; text as given), rouge-score (Porter stemmer on,
score_multi per sample), sacreBLEU (corpus, 13a, its 13a tokens per text), and NLTK
Porter stems for a word list.

Developer-only: run with the reference venv,
    .venv-ref/bin/python scripts/reference/metrics_cases.py
"""
import contextlib
import io
import json
import os
import sys

from nltk.stem.porter import PorterStemmer
from pycocoevalcap.bleu.bleu import Bleu
from pycocoevalcap.cider.cider import Cider
from pycocoevalcap.rouge.rouge import Rouge
from rouge_score import rouge_scorer
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
OUT = os.path.join(ROOT, "crates", "rad3d-metrics", "tests", "data", "metrics_cases.json")

CASES = {
    "empty_hypothesis": [
        ("", ["no pleural effusion ."]),
        ("the heart is normal in size .", ["heart size is normal ."]),
        ("lungs are clear .", ["the lungs are clear ."]),
    ],
    "one_word_reports": [
        ("normal", ["normal"]),
        ("effusion", ["pneumothorax"]),
        ("clear", ["lungs clear"]),
        ("nodule", ["nodule"]),
    ],
    "repeated_ngrams": [
        ("effusion effusion effusion effusion", ["effusion"]),
        ("the the the the the the the", ["the cat sat on the mat the"]),
        ("no no no effusion effusion no no", ["no effusion no nodule no mass"]),
        ("a b a b a b a b", ["a b a b c"]),
    ],
    "unicode": [
        ("Ödem im Unterlappen — keine Ergüsse ✓", ["Kein Erguss, Ödem im Unterlappen."]),
        ("肺 结节 3 mm", ["肺 结节 5 mm"]),
        ("naïve café résumé ﬁbrosis", ["naive cafe resume fibrosis"]),
        ("\u212a-sign \u0130nfiltrate KELVIN", ["k sign infiltrate"]),
        ("emoji 🫁 lungs 🫁", ["lungs"]),
    ],
    "numbers": [
        ("a 3.5 cm nodule in the right upper lobe .", ["a 3.5 cm nodule in the right lower lobe ."]),
        ("nodule measures 3.5cm, previously 2.1 cm", ["nodule of 3.5 cm"]),
        ("1,200 ml effusion; T2-weighted 5-6 mm", ["effusion of 1,200 ml"]),
        ("size 10x12 mm (prior: 8x9)", ["size 10 x 12 mm"]),
    ],
    "odd_whitespace": [
        ("no  pleural\teffusion .", ["no pleural effusion ."]),
        (" lungs are clear . ", ["lungs are clear ."]),
        ("heart\u00a0size normal", ["heart size normal"]),
    ],
    "multi_line": [
        ("Lungs are clear.\nNo effusion.", ["No effusion.\nThe lungs are clear."]),
        ("Heart normal.\n\nNo nodules seen.\nNo mass.", ["No mass or nodules.\nHeart size normal."]),
        ("Atelectasis.", ["Atelectasis.\nSmall effusion."]),
    ],
    "multiple_references": [
        ("no pleural effusion .", ["there is no pleural effusion .", "no effusion ."]),
        ("the heart is enlarged .", ["cardiomegaly .", "the heart is enlarged in size .", "enlarged heart ."]),
        ("small nodule in the left lobe .", ["a small nodule .", "nodule in the left lower lobe ."]),
    ],
}

STEM_WORDS = """
caresses ponies ties caress cats feed agreed disabled matting mating meeting milling messing
meetings happy sky skies dying lying tying news innings inning outings outing cannings canning
howe proceed exceed succeed relational conditional rational valency hesitancy digitizer
conformably radically differently vilely analogously vietnamization predication operator
feudalism decisiveness hopefulness callousness formality sensitivity sensibility triplicate
formative formalize electricity electrical hopeful goodness revival allowance inference
airliner gyroscopic adjustable defensible irritant replacement adjustment dependent adoption
homologou communism activate angularity homologous effective bowdlerize probate rate cease
controlling rolling generalizations oscillators effusions opacities opacity consolidation
consolidations atelectasis atelectatic pneumothorax cardiomegaly calcified calcifications
emphysematous emphysema bronchiectasis nodular nodules measuring measures measured enlarged
enlargement thickening thickened pleural pericardial mediastinal lymphadenopathy unremarkable
visualized visualised demonstrated demonstrates suggestive suggesting consistent hypodense
hyperdense lobulated spiculated ground glass reticulation reticular honeycombing fibrotic
fibrosis scarring scarred degenerative degeneration osteophytes osteopenia compression
fractures fractured tortuous ectatic aneurysmal dilated dilatation dilation stenosis stenotic
hilar subsegmental segmental bilateral bilaterally unilateral minimally mildly moderately
severely previously prior comparison interval stable stability unchanged increased decreased
decreasing increasing resolved resolution partially partial complete completely noted
noting seen identified identification evaluation evaluated limited limiting suboptimal
apparent apparently likely unlikely possibly possible probable probably represent represents
representing sequela sequelae postoperative postsurgical surgical surgically sternotomy
anastomosis anastomotic catheter catheters tubing tubes positioned positioning terminates
terminating alli logi fulli bli generously fully horribly logically analogical
eerily aerial abatement abilities allied bowling skiing yelling spying flying crying ying
agreeably ably bias yes eye eyes flies flied cried spied tried buying playing
""".split()


def coco(pairs):
    gts = {i: refs for i, (_, refs) in enumerate(pairs)}
    res = {i: [h] for i, (h, _) in enumerate(pairs)}
    with contextlib.redirect_stdout(io.StringIO()):
        bleu, bleu_ps = Bleu(4).compute_score(gts, res, verbose=0)
    rouge, rouge_ps = Rouge().compute_score(gts, res)
    cider, cider_ps = Cider().compute_score(gts, res)
    return {
        "bleu": [float(b) for b in bleu],
        "bleu_per_sample": [[float(x) for x in col] for col in bleu_ps],
        "rouge_l": float(rouge),
        "rouge_l_per_sample": [float(x) for x in rouge_ps],
        "cider_d": float(cider),
        "cider_d_per_sample": [float(x) for x in cider_ps],
    }


def rouge(pairs):
    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
    out = []
    for h, refs in pairs:
        s = scorer.score_multi(refs, h)
        out.append({t: [s[t].precision, s[t].recall, s[t].fmeasure] for t in types})
    return out


def sacre(pairs):
    hyps = [h for h, _ in pairs]
    n_refs = max(len(r) for _, r in pairs)
    streams = [[refs[k] if k < len(refs) else "" for _, refs in pairs] for k in range(n_refs)]
    tok = Tokenizer13a()
    texts = sorted({t for h, refs in pairs for t in [h] + refs})
    return {
        "corpus": sacrebleu.corpus_bleu(hyps, streams).score,
        "tokens_13a": {t: tok(t.rstrip()) for t in texts},
    }


def main():
    cases = []
    for name, pairs in CASES.items():
        entry = {"name": name, "hyps": [h for h, _ in pairs], "refs": [r for _, r in pairs]}
        entry["coco"] = coco(pairs)
        entry["rouge_score"] = rouge(pairs)
        # sacreBLEU needs one stream per reference; only score single-reference cases.
        if all(len(r) == 1 for _, r in pairs):
            entry["sacrebleu"] = sacre(pairs)
        cases.append(entry)
    stemmer = PorterStemmer()
    stems = {w: stemmer.stem(w) for w in STEM_WORDS}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump({"cases": cases, "porter_stems": stems}, f, ensure_ascii=False, indent=1)
    print(f"wrote {OUT}: {len(cases)} cases, {len(stems)} stems", file=sys.stderr)


if __name__ == "__main__":
    main()
