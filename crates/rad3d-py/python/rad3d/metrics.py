"""Report-generation metrics exact to the reference tools, computed in Rust.

``evaluate`` is the whole ``rad3d evaluate`` job: the returned dict equals ``json.loads``
of ``rad3d evaluate --json`` on the same reports. ``Bleu``, ``Meteor``, ``Rouge`` and
``Cider`` take and return what pycocoevalcap's scorers do (``gts`` / ``res``: dicts of id ->
list of strings, one hypothesis per id); ``RougeScorer`` is rouge-score's, returning
``Score(precision, recall, fmeasure)`` tuples. METEOR needs no Java.
"""

from __future__ import annotations

import os
from collections import namedtuple
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from . import _rad3d
from ._rad3d import Rad3dError

__all__ = [
    "Bleu",
    "Cider",
    "Meteor",
    "Rad3dError",
    "Rouge",
    "RougeScorer",
    "Score",
    "evaluate",
]

Reports = Union[Sequence[str], Mapping[str, str]]


def _reports(what: str, reports: Reports) -> List[Tuple[str, str]]:
    """``(id, text)`` pairs: a mapping's items, or a sequence's texts with their 0-based
    positions as ids (as ``rad3d evaluate`` numbers the lines of a ``.txt`` file)."""
    if isinstance(reports, str):
        raise Rad3dError(f"{what}: expected a list of reports or a dict of id -> report, got one string")
    if isinstance(reports, Mapping):
        return [(str(k), v) for k, v in reports.items()]
    return [(str(i), text) for i, text in enumerate(reports)]


def evaluate(
    refs: Reports,
    hyps: Reports,
    compare: Optional[Reports] = None,
    *,
    tokenize: str = "basic",
    bootstrap: int = 0,
    resamples: Optional[int] = None,
    seed: int = 0,
    confidence: float = 0.95,
    cider_df: str = "corpus",
    meteor_dir: Optional[Union[str, os.PathLike]] = None,
    meteor_approx: bool = False,
    timings: bool = False,
    compare_label: str = "compare",
) -> dict:
    """Scores ``hyps`` against ``refs`` with every metric of ``rad3d evaluate``.

    ``refs`` / ``hyps`` (/ ``compare``, a second system): lists of reports in the same order,
    or dicts id -> report joined on ids. ``tokenize``: ``"basic"`` or ``"none"`` for the
    pycocoevalcap metrics. ``bootstrap``: resamples of the confidence intervals (0: none).
    ``resamples``: of the paired tests against ``compare`` (default ``bootstrap``, else 5000).
    METEOR's data are found as the command line finds them (``$RAD3D_ASSETS/meteor``, the
    per-user data folder, the checkout's ``target/assets/meteor``) unless ``meteor_dir`` is
    given; ``meteor_approx=True`` scores exact + stem matches only (said in ``meteor_note``).
    ``compare_label`` names system B in the output (``compare.file``; the command line puts
    its path there).
    """
    if bootstrap < 0:
        raise Rad3dError(f"bootstrap must be >= 0, got {bootstrap}")
    return _rad3d.evaluate(
        _reports("refs", refs),
        _reports("hyps", hyps),
        None if compare is None else _reports("compare", compare),
        tokenize=tokenize,
        bootstrap=bootstrap or None,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        cider_df=cider_df,
        meteor_dir=None if meteor_dir is None else os.fspath(meteor_dir),
        meteor_approx=meteor_approx,
        timings=timings,
        compare_label=compare_label,
    )


def _pairs(gts: Mapping, res: Mapping) -> Tuple[List[List[str]], List[str]]:
    """pycocoevalcap's checks (same ids, one hypothesis, at least one reference), in the
    order of ``gts``'s keys; a failed check raises ``Rad3dError`` instead of ``AssertionError``."""
    if gts.keys() != res.keys():
        raise Rad3dError("gts and res must have the same ids")
    refs, hyps = [], []
    for k in gts.keys():
        hypo, ref = res[k], gts[k]
        if not isinstance(hypo, list) or len(hypo) != 1:
            raise Rad3dError(f"res[{k!r}] must be a list of exactly one string")
        if not isinstance(ref, list) or len(ref) < 1:
            raise Rad3dError(f"gts[{k!r}] must be a non-empty list of strings")
        refs.append(ref)
        hyps.append(hypo[0])
    return refs, hyps


class Bleu:
    """pycocoevalcap's ``Bleu(n)``: ``compute_score(gts, res)`` -> (BLEU-1..n of the corpus,
    per-sample BLEU-1..n as n lists)."""

    def __init__(self, n: int = 4) -> None:
        self._n = n

    def compute_score(self, gts: Mapping, res: Mapping, verbose: int = 0) -> Tuple[List[float], List[List[float]]]:
        refs, hyps = _pairs(gts, res)
        return _rad3d.coco_bleu(refs, hyps, self._n)

    def method(self) -> str:
        return "Bleu"


class Meteor:
    """pycocoevalcap's ``Meteor`` (METEOR 1.5, without Java): ``compute_score(gts, res)`` ->
    (corpus METEOR, per-sample list). Data are located as by ``evaluate``; ``approx=True``
    scores exact + stem matches only."""

    def __init__(self, meteor_dir: Optional[Union[str, os.PathLike]] = None, approx: bool = False) -> None:
        self._scorer = _rad3d.MeteorScorer(None if meteor_dir is None else os.fspath(meteor_dir), approx)

    def compute_score(self, gts: Mapping, res: Mapping) -> Tuple[float, List[float]]:
        refs, hyps = _pairs(gts, res)
        return self._scorer.corpus(refs, hyps)

    def method(self) -> str:
        return "METEOR"


class _MeanScorer:
    """A pycocoevalcap scorer whose corpus score is the numpy mean of per-sample scores."""

    _name = ""

    def _per_sample(self, refs: List[List[str]], hyps: List[str]) -> List[float]:
        raise NotImplementedError

    def compute_score(self, gts: Mapping, res: Mapping) -> Tuple[float, np.ndarray]:
        refs, hyps = _pairs(gts, res)
        scores = np.array(self._per_sample(refs, hyps))
        # numpy's own mean, as pycocoevalcap takes it (pairwise summation).
        return np.mean(scores), scores

    def method(self) -> str:
        return self._name


class Rouge(_MeanScorer):
    """pycocoevalcap's ``Rouge`` (ROUGE-L, β = 1.2): ``compute_score(gts, res)`` -> (mean,
    per-sample ``numpy.ndarray``)."""

    _name = "Rouge"

    def _per_sample(self, refs: List[List[str]], hyps: List[str]) -> List[float]:
        return _rad3d.coco_rouge(refs, hyps)


class Cider(_MeanScorer):
    """pycocoevalcap's ``Cider`` (CIDEr-D, σ = 6): ``compute_score(gts, res)`` -> (mean,
    per-sample ``numpy.ndarray``)."""

    _name = "CIDEr"

    def _per_sample(self, refs: List[List[str]], hyps: List[str]) -> List[float]:
        return _rad3d.coco_cider(refs, hyps)


Score = namedtuple("Score", ["precision", "recall", "fmeasure"])
"""rouge-score's ``Score``: precision, recall and F-measure of one comparison."""


class RougeScorer:
    """rouge-score's ``rouge_scorer.RougeScorer(rouge_types, use_stemmer)``."""

    def __init__(self, rouge_types: Sequence[str], use_stemmer: bool = False) -> None:
        self._scorer = _rad3d.RougeScorer(list(rouge_types), use_stemmer)
        self.rouge_types = list(rouge_types)

    def _named(self, triples: List[Tuple[float, float, float]]) -> Dict[str, Score]:
        return {t: Score(*s) for t, s in zip(self.rouge_types, triples)}

    def score(self, target: str, prediction: str) -> Dict[str, Score]:
        """``{type: Score}`` of ``prediction`` against ``target``."""
        return self._named(self._scorer.score(target, prediction))

    def score_multi(self, targets: Sequence[str], prediction: str) -> Dict[str, Score]:
        """``{type: Score}``: the best F over ``targets`` per type."""
        return self._named(self._scorer.score_multi(list(targets), prediction))

    def score_batch(self, targets: Sequence[str], predictions: Sequence[str]) -> List[Dict[str, Score]]:
        """``score`` of each pair, computed in parallel (not in rouge-score)."""
        return [self._named(s) for s in self._scorer.score_batch(list(targets), list(predictions))]
