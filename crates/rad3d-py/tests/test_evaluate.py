"""``rad3d.metrics.evaluate`` against the command line's JSON, the drop-in scorers and the
published reference values; bad input raising ``Rad3dError``, never crashing."""

import json
import subprocess

import pytest

import rad3d
from rad3d import metrics


def test_evaluate_equals_the_cli_json_to_the_last_bit(metrics_fixture, meteor_data, rad3d_bin, tmp_path):
    m = metrics_fixture["dir"]
    b = tmp_path / "b.txt"
    # System B: A's reports in reverse order (same references).
    b.write_text("\n".join(reversed(metrics_fixture["hyps"])) + "\n", encoding="utf-8")
    cmd = [
        rad3d_bin, "evaluate", "--refs", str(m / "public_refs.txt"), "--hyps", str(m / "public_hyps.txt"),
        "--compare", str(b), "--bootstrap", "300", "--seed", "7", "--meteor-dir", str(meteor_data), "--json",
    ]
    cli = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    got = metrics.evaluate(
        metrics_fixture["refs"],
        metrics_fixture["hyps"],
        list(reversed(metrics_fixture["hyps"])),
        bootstrap=300,
        seed=7,
        meteor_dir=meteor_data,
        compare_label=str(b),
    )
    assert got == cli
    # The same with every number's exact bits (== would let -0.0 equal 0.0).
    assert json.dumps(got, sort_keys=True) == json.dumps(cli, sort_keys=True)

    for tokenize in ("none", "basic"):
        cmd = [rad3d_bin, "evaluate", "--refs", str(m / "public_refs.txt"), "--hyps",
               str(m / "public_hyps.txt"), "--tokenize", tokenize, "--meteor-approx", "--json"]
        cli = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        got = metrics.evaluate(metrics_fixture["refs"], metrics_fixture["hyps"], tokenize=tokenize, meteor_approx=True)
        assert json.dumps(got, sort_keys=True) == json.dumps(cli, sort_keys=True), tokenize


def test_evaluate_equals_the_scorers_and_the_reference_tools(metrics_fixture, meteor_data):
    fx = metrics_fixture
    got = metrics.evaluate(fx["refs"], fx["hyps"], meteor_dir=meteor_data)
    assert got["samples"] == 25
    assert "meteor_note" not in got and "ci" not in got
    # `basic` tokenization of the raw files is the fixture's .tok.txt.
    gts = {i: [r] for i, r in enumerate(fx["refs_tok"])}
    res = {i: [h] for i, h in enumerate(fx["hyps_tok"])}
    bleu, _ = metrics.Bleu(4).compute_score(gts, res)
    assert [got[f"bleu_{n}"] for n in range(1, 5)] == bleu
    assert got["meteor"] == metrics.Meteor(meteor_dir=meteor_data).compute_score(gts, res)[0]
    assert got["cider_d"] == pytest.approx(metrics.Cider().compute_score(gts, res)[0], rel=1e-15, abs=0)

    expected = json.loads((fx["dir"] / "public_expected.json").read_text())
    for ours, theirs in [("bleu_1", "bleu_1"), ("bleu_4", "bleu_4"), ("meteor", "meteor"),
                         ("cider_d", "cider_d"), ("rouge_l", "rouge_l_coco")]:
        assert got[ours] == pytest.approx(expected[theirs], abs=1e-12), ours


def test_bootstrap_and_paired_tests(metrics_fixture):
    fx = metrics_fixture
    got = metrics.evaluate(fx["refs"], fx["hyps"], fx["refs"], bootstrap=200, seed=3, meteor_approx=True)
    assert got["bootstrap"] == {"resamples": 200, "confidence": 0.95, "seed": 3}
    assert "approx" not in got["meteor_note"] or got["meteor_note"]
    for name, ci in got["ci"].items():
        assert ci["lower"] <= got[name] <= ci["upper"], name
    # System B is the references themselves: better on every value.
    assert got["compare"]["resamples"] == 200
    assert got["compare"]["metrics"]["bleu_4"]["b"] == pytest.approx(1.0)
    assert got["compare"]["metrics"]["bleu_4"]["delta"] > 0
    assert 0.0 < got["p_value"]["bleu_4"] <= 0.05
    again = metrics.evaluate(fx["refs"], fx["hyps"], fx["refs"], bootstrap=200, seed=3, meteor_approx=True)
    assert again == got, "same seed, same numbers"


def test_reports_joined_on_ids():
    refs = {"a.nii.gz": "no effusion .", "b": "small nodule ."}
    hyps = {"b": "small nodule .", "a": "no effusion ."}
    got = metrics.evaluate(refs, hyps, meteor_approx=True)
    assert got["bleu_1"] == pytest.approx(1.0)
    with pytest.raises(rad3d.Rad3dError, match="c"):
        metrics.evaluate(refs, {"a": "x", "c": "y"}, meteor_approx=True)


def test_evaluate_refuses_bad_input(tmp_path):
    with pytest.raises(rad3d.Rad3dError):
        metrics.evaluate(["a b c"], ["a b c", "d"], meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError):
        metrics.evaluate([], [], meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError, match="tokeniz"):
        metrics.evaluate(["a"], ["a"], tokenize="spacy", meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError, match="cider_df"):
        metrics.evaluate(["a"], ["a"], cider_df="x", meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError):
        metrics.evaluate(["a"], ["a"], bootstrap=10**9, meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError):
        metrics.evaluate(["a"], ["a"], bootstrap=-1)
    with pytest.raises(rad3d.Rad3dError, match="one string"):
        metrics.evaluate("a b", "a b", meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError, match=str(tmp_path)):
        metrics.evaluate(["a"], ["a"], meteor_dir=tmp_path)
    with pytest.raises(TypeError):
        metrics.evaluate([1], ["a"], meteor_approx=True)
    with pytest.raises(rad3d.Rad3dError, match="[Dd]uplicate"):
        metrics.evaluate({"a": "x", "a.nii": "y"}, {"a": "x"}, meteor_approx=True)


def test_issue_one_liner():
    got = rad3d.metrics.evaluate(["a b c"], ["a b d"])
    assert got["samples"] == 1
    assert got["bleu_1"] == pytest.approx(2 / 3)


def test_threads_score_concurrently(metrics_fixture):
    """The GIL is released while scoring: threads run side by side and agree."""
    from concurrent.futures import ThreadPoolExecutor

    fx = metrics_fixture
    run = lambda _: metrics.evaluate(fx["refs"], fx["hyps"], bootstrap=100, meteor_approx=True)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(run, range(4)))
    assert all(r == results[0] for r in results)
