//! Edge cases scored by the reference tools (`tests/data/metrics_cases.json`, made by
//! `scripts/reference/metrics_cases.py`): empty hypothesis, one-word reports, repeated
//! n-grams, unicode, numbers, odd whitespace, multi-line reports, several references.

mod common;

use rad3d_metrics::coco::{CiderD, CocoBleu, coco_rouge_l};
use rad3d_metrics::porter::porter_stem;
use rad3d_metrics::rouge_score::{RougeScorer, RougeType};
use rad3d_metrics::sacrebleu::{SacreBleu, tokenize_13a};
use rad3d_metrics::text::python_rstrip;
use rad3d_metrics::{Corpus, CorpusMetric};
use serde_json::Value;

const TOL: f64 = 1e-9;

fn data() -> Value {
    common::json(&common::data("metrics_cases.json"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

fn corpus(case: &Value) -> Corpus {
    let hyps = strings(&case["hyps"]);
    let refs = case["refs"]
        .as_array()
        .unwrap()
        .iter()
        .map(strings)
        .collect();
    Corpus::new(hyps, refs).unwrap()
}

fn check(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

#[test]
fn pycocoevalcap_cases() {
    for case in data()["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let c = corpus(case);
        let exp = &case["coco"];
        let bleu = CocoBleu::new(&c);
        for (k, b) in bleu.score().iter().enumerate() {
            check(&format!("{name} bleu_{}", k + 1), *b, f(&exp["bleu"][k]));
        }
        for (i, ps) in bleu.per_sample().iter().enumerate() {
            for (k, b) in ps.iter().enumerate() {
                check(
                    &format!("{name} sample {i} bleu_{}", k + 1),
                    *b,
                    f(&exp["bleu_per_sample"][k][i]),
                );
            }
        }
        let rouge = coco_rouge_l(&c);
        check(
            &format!("{name} rouge_l"),
            rouge.score()[0],
            f(&exp["rouge_l"]),
        );
        for (i, v) in rouge.column(0).iter().enumerate() {
            check(
                &format!("{name} sample {i} rouge_l"),
                *v,
                f(&exp["rouge_l_per_sample"][i]),
            );
        }
        let cider = CiderD::new(&c);
        check(
            &format!("{name} cider_d"),
            cider.score()[0],
            f(&exp["cider_d"]),
        );
        for (i, v) in cider.per_sample().iter().enumerate() {
            check(
                &format!("{name} sample {i} cider_d"),
                *v,
                f(&exp["cider_d_per_sample"][i]),
            );
        }
    }
}

#[test]
fn rouge_score_cases() {
    let types = [
        RougeType::N(1),
        RougeType::N(2),
        RougeType::L,
        RougeType::Lsum,
    ];
    for case in data()["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let c = corpus(case);
        let mut scorer = RougeScorer::new(&types, true);
        for (i, (h, rs)) in c.hyps.iter().zip(&c.refs).enumerate() {
            let got = scorer.score_multi(rs, h);
            for (t, prf) in types.iter().zip(got) {
                let want = &case["rouge_score"][i][t.name()];
                check(
                    &format!("{name} {i} {} P", t.name()),
                    prf.precision,
                    f(&want[0]),
                );
                check(
                    &format!("{name} {i} {} R", t.name()),
                    prf.recall,
                    f(&want[1]),
                );
                check(
                    &format!("{name} {i} {} F", t.name()),
                    prf.fmeasure,
                    f(&want[2]),
                );
            }
        }
    }
}

#[test]
fn sacrebleu_cases() {
    for case in data()["cases"].as_array().unwrap() {
        let Some(exp) = case.get("sacrebleu") else {
            continue;
        };
        let name = case["name"].as_str().unwrap();
        for (text, tok) in exp["tokens_13a"].as_object().unwrap() {
            assert_eq!(
                tokenize_13a(python_rstrip(text)),
                tok.as_str().unwrap(),
                "{name}: {text:?}"
            );
        }
        check(
            &format!("{name} sacrebleu"),
            SacreBleu::new(&corpus(case)).score()[0],
            f(&exp["corpus"]),
        );
    }
}

#[test]
fn porter_stems_match_nltk() {
    for (word, stem) in data()["porter_stems"].as_object().unwrap() {
        assert_eq!(porter_stem(word), stem.as_str().unwrap(), "{word}");
    }
}
