"""The drop-in scorers against the real pycocoevalcap and rouge-score on the shared
metrics fixture (25 report pairs): every value must be the same float."""

import shutil

import numpy as np
import pytest

import rad3d
from rad3d import metrics


def coco_inputs(fx, tok=True):
    refs = fx["refs_tok"] if tok else fx["refs"]
    hyps = fx["hyps_tok"] if tok else fx["hyps"]
    gts = {f"s{i}": [r] for i, r in enumerate(refs)}
    res = {f"s{i}": [h] for i, h in enumerate(hyps)}
    return gts, res


def test_bleu_equals_pycocoevalcap(metrics_fixture):
    from pycocoevalcap.bleu.bleu import Bleu

    gts, res = coco_inputs(metrics_fixture)
    want = Bleu(4).compute_score(gts, res, verbose=0)
    got = metrics.Bleu(4).compute_score(gts, res)
    assert got[0] == want[0]
    assert got[1] == want[1]
    # Bleu(n) is the first n of Bleu(4), as in pycocoevalcap.
    want2 = Bleu(2).compute_score(gts, res, verbose=0)
    assert metrics.Bleu(2).compute_score(gts, res) == (list(want2[0]), [list(c) for c in want2[1]])


def test_rouge_equals_pycocoevalcap(metrics_fixture):
    from pycocoevalcap.rouge.rouge import Rouge

    gts, res = coco_inputs(metrics_fixture)
    want = Rouge().compute_score(gts, res)
    got = metrics.Rouge().compute_score(gts, res)
    assert got[0] == want[0]
    assert isinstance(got[1], np.ndarray)
    assert np.array_equal(got[1], want[1])


def test_cider_equals_pycocoevalcap(metrics_fixture):
    from pycocoevalcap.cider.cider import Cider

    gts, res = coco_inputs(metrics_fixture)
    want = Cider().compute_score(gts, res)
    got = metrics.Cider().compute_score(gts, res)
    assert got[0] == want[0]
    assert_cider_per_sample(got[1], want[1])


def assert_cider_per_sample(got, want):
    """Per-sample CIDEr-D: the Rust scorer sums each sample's n-gram products in another
    order than pycocoevalcap's dict iteration, so a few samples differ in the last bit or
    two (3.1e-16 relative on the fixture); the corpus score is bit-equal."""
    assert isinstance(got, np.ndarray) and got.shape == want.shape
    rel = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300))
    assert rel <= 1e-15, rel


def test_multiple_references_equal_pycocoevalcap(metrics_fixture):
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge

    r, h = metrics_fixture["refs_tok"], metrics_fixture["hyps_tok"]
    # Two references per sample: its own and the next sample's.
    gts = {i: [r[i], r[(i + 1) % len(r)]] for i in range(len(r))}
    res = {i: [h[i]] for i in range(len(h))}
    assert metrics.Bleu(4).compute_score(gts, res) == Bleu(4).compute_score(gts, res, verbose=0)
    got, want = metrics.Rouge().compute_score(gts, res), Rouge().compute_score(gts, res)
    assert got[0] == want[0] and np.array_equal(got[1], want[1])
    got, want = metrics.Cider().compute_score(gts, res), Cider().compute_score(gts, res)
    assert got[0] == pytest.approx(want[0], rel=1e-15, abs=0)
    assert_cider_per_sample(got[1], want[1])


@pytest.mark.skipif(shutil.which("java") is None, reason="pycocoevalcap's METEOR needs Java")
def test_meteor_equals_pycocoevalcap_jar(metrics_fixture, meteor_data):
    from pycocoevalcap.meteor.meteor import Meteor

    gts, res = coco_inputs(metrics_fixture)
    want = Meteor().compute_score(gts, res)
    got = metrics.Meteor(meteor_dir=meteor_data).compute_score(gts, res)
    # The jar prints every score with Java's shortest round-trip double repr.
    assert got[0] == want[0]
    assert got[1] == want[1]


def test_meteor_approx_is_exact_and_stem_only(metrics_fixture):
    gts, res = coco_inputs(metrics_fixture)
    score, per_sample = metrics.Meteor(approx=True).compute_score(gts, res)
    assert len(per_sample) == 25 and 0.0 < score < 1.0
    expected = __import__("json").loads((metrics_fixture["dir"] / "public_expected.json").read_text())
    # Other alignments than METEOR 1.5's, so another score (0.2850 against 0.2833).
    assert abs(score - expected["meteor"]) > 1e-4
    ev = metrics.evaluate(metrics_fixture["refs"], metrics_fixture["hyps"], meteor_approx=True)
    assert ev["meteor"] == score
    assert "not METEOR 1.5" in ev["meteor_note"]


def test_rouge_scorer_equals_rouge_score(metrics_fixture):
    from rouge_score import rouge_scorer

    types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
    for stem in (True, False):
        theirs = rouge_scorer.RougeScorer(types, use_stemmer=stem)
        ours = metrics.RougeScorer(types, use_stemmer=stem)
        pairs = list(zip(metrics_fixture["refs"], metrics_fixture["hyps"]))
        batch = ours.score_batch([t for t, _ in pairs], [p for _, p in pairs])
        for (target, prediction), b in zip(pairs, batch):
            want = theirs.score(target, prediction)
            got = ours.score(target, prediction)
            assert set(got) == set(want)
            for t in types:
                assert tuple(got[t]) == tuple(want[t]), (t, stem, target[:40])
                assert got[t].fmeasure == want[t].fmeasure
                assert b[t] == got[t]
        targets = metrics_fixture["refs"][:3]
        want = theirs.score_multi(targets, metrics_fixture["hyps"][0])
        got = ours.score_multi(targets, metrics_fixture["hyps"][0])
        assert {k: tuple(v) for k, v in got.items()} == {k: tuple(v) for k, v in want.items()}


def test_scorers_refuse_bad_input():
    with pytest.raises(rad3d.Rad3dError, match="same ids"):
        metrics.Bleu().compute_score({"a": ["x"]}, {"b": ["x"]})
    with pytest.raises(rad3d.Rad3dError, match="exactly one"):
        metrics.Cider().compute_score({"a": ["x"]}, {"a": ["x", "y"]})
    with pytest.raises(rad3d.Rad3dError, match="non-empty"):
        metrics.Rouge().compute_score({"a": []}, {"a": ["x"]})
    with pytest.raises(rad3d.Rad3dError, match="n must be 1 to 4"):
        metrics.Bleu(5).compute_score({"a": ["x"]}, {"a": ["x"]})
    with pytest.raises(rad3d.Rad3dError):
        metrics.Bleu().compute_score({}, {})
    with pytest.raises(ValueError, match="Invalid rouge type: rouge0"):
        metrics.RougeScorer(["rouge0"])
    with pytest.raises(rad3d.Rad3dError, match="no targets"):
        metrics.RougeScorer(["rouge1"]).score_multi([], "x")
    with pytest.raises(rad3d.Rad3dError):
        metrics.RougeScorer(["rouge1"]).score_batch(["a", "b"], ["a"])
    with pytest.raises(TypeError):
        metrics.RougeScorer(["rouge1"]).score(None, "x")
