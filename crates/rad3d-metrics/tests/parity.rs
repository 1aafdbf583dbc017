//! Parity with the reference tools on the public fixture pairs
//! (`$RAD3D_FIXTURES/metrics/public_*`, scored by pycocoevalcap, rouge-score and sacreBLEU).

mod common;

use rad3d_metrics::coco::{CiderD, CocoBleu, coco_rouge_l};
use rad3d_metrics::rouge_score::{RougeScorer, RougeType};
use rad3d_metrics::sacrebleu::SacreBleu;
use rad3d_metrics::text::basic_tokenize;
use rad3d_metrics::{Corpus, CorpusMetric};
use serde_json::Value;

/// Raw hyps, raw refs, tokenized hyps, tokenized refs, expected scores.
type Fixture = (Vec<String>, Vec<String>, Vec<String>, Vec<String>, Value);

/// The fixture files, or `None` (skip) when absent outside CI.
fn load() -> Option<Fixture> {
    let dir = common::fixtures().join("metrics");
    if !common::available(&dir.join("public_expected.json"), "metrics fixtures") {
        return None;
    }
    let lines = |n: &str| common::lines(&dir.join(n));
    let expected = common::json(&dir.join("public_expected.json"));
    Some((
        lines("public_hyps.txt"),
        lines("public_refs.txt"),
        lines("public_hyps.tok.txt"),
        lines("public_refs.tok.txt"),
        expected,
    ))
}

fn close(name: &str, got: f64, want: &Value, tol: f64) {
    let want = want.as_f64().unwrap_or_else(|| panic!("{name} missing"));
    eprintln!(
        "{name}: got {got}, want {want}, |diff| {:.2e}",
        (got - want).abs()
    );
    assert!(
        (got - want).abs() <= tol,
        "{name}: got {got}, want {want} (|Δ| = {})",
        (got - want).abs()
    );
}

#[test]
fn pycocoevalcap_scores_match() {
    let Some((_, _, ht, rt, exp)) = load() else {
        return;
    };
    let corpus = Corpus::single(ht, rt).unwrap();
    let bleu = CocoBleu::new(&corpus).score();
    for (k, b) in bleu.iter().enumerate() {
        close(
            &format!("bleu_{}", k + 1),
            *b,
            &exp[format!("bleu_{}", k + 1)],
            1e-6,
        );
    }
    close(
        "rouge_l_coco",
        coco_rouge_l(&corpus).score()[0],
        &exp["rouge_l_coco"],
        1e-6,
    );
    close(
        "cider_d",
        CiderD::new(&corpus).score()[0],
        &exp["cider_d"],
        1e-6,
    );
}

#[test]
fn rouge_score_and_sacrebleu_match() {
    let Some((h, r, _, _, exp)) = load() else {
        return;
    };
    let corpus = Corpus::single(h, r).unwrap();
    let types = [RougeType::N(1), RougeType::N(2), RougeType::L];
    let m = RougeScorer::new(&types, true).corpus(&corpus);
    let s = m.score();
    let names = m.names();
    for (key, col) in [
        ("rouge1_f_mean_stemmed", "rouge1_f"),
        ("rouge2_f_mean_stemmed", "rouge2_f"),
        ("rougeL_f_mean_stemmed", "rougeL_f"),
    ] {
        let k = names.iter().position(|n| n == col).unwrap();
        close(key, s[k], &exp[key], 1e-6);
    }
    close(
        "sacrebleu_corpus_13a",
        SacreBleu::new(&corpus).score()[0],
        &exp["sacrebleu_corpus_13a"],
        1e-6,
    );
}

#[test]
fn basic_tokenizer_reproduces_tok_fixtures() {
    let Some((h, r, ht, rt, _)) = load() else {
        return;
    };
    for (raw, tok) in h.iter().chain(&r).zip(ht.iter().chain(&rt)) {
        assert_eq!(&basic_tokenize(raw), tok);
    }
}
