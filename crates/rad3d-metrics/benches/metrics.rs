//! Criterion benches of the corpus metrics and the bootstrap on the public fixture pairs
//! repeated to CT-RATE's test-set size.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use rad3d_metrics::coco::{CiderD, CocoBleu, coco_rouge_l};
use rad3d_metrics::rouge_score::{RougeScorer, RougeType};
use rad3d_metrics::sacrebleu::SacreBleu;
use rad3d_metrics::significance::{ResampleConfig, bootstrap};
use rad3d_metrics::{Corpus, CorpusMetric};

/// CT-RATE's test-set size.
const PAIRS: usize = 3039;

fn fixtures() -> PathBuf {
    std::env::var_os("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures")
        })
        .join("metrics")
}

fn load(name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(fixtures().join(name)).ok()?;
    Some(text.lines().map(str::to_string).collect())
}

/// Pairs `i` = fixture pair `i mod 25` with hypothesis words rotated by `i / 25` so the
/// corpus is not 121 copies of the same 25 pairs.
fn corpus(hyps: &[String], refs: &[String]) -> Corpus {
    let mut h = Vec::with_capacity(PAIRS);
    let mut r = Vec::with_capacity(PAIRS);
    for i in 0..PAIRS {
        let k = i % hyps.len();
        let mut words: Vec<&str> = hyps[k].split(' ').collect();
        let shift = (i / hyps.len()) % words.len().max(1);
        words.rotate_left(shift);
        h.push(words.join(" "));
        r.push(refs[k].clone());
    }
    Corpus::single(h, r).expect("equal lengths")
}

fn benches(c: &mut Criterion) {
    let (Some(ht), Some(rt), Some(hr), Some(rr)) = (
        load("public_hyps.tok.txt"),
        load("public_refs.tok.txt"),
        load("public_hyps.txt"),
        load("public_refs.txt"),
    ) else {
        eprintln!(
            "metrics fixtures not found under {}: skipping benches",
            fixtures().display()
        );
        return;
    };
    let tok = corpus(&ht, &rt);
    let raw = corpus(&hr, &rr);
    c.bench_function("cpu_coco_bleu_3039", |b| {
        b.iter(|| CocoBleu::new(&tok).score())
    });
    c.bench_function("cpu_coco_rouge_l_3039", |b| {
        b.iter(|| coco_rouge_l(&tok).score())
    });
    c.bench_function("cpu_cider_d_3039", |b| b.iter(|| CiderD::new(&tok).score()));
    c.bench_function("cpu_sacrebleu_3039", |b| {
        b.iter(|| SacreBleu::new(&raw).score())
    });
    c.bench_function("cpu_rouge_score_stemmed_3039", |b| {
        b.iter(|| {
            let types = [
                RougeType::N(1),
                RougeType::N(2),
                RougeType::L,
                RougeType::Lsum,
            ];
            RougeScorer::new(&types, true).corpus(&raw).score()
        })
    });
    let bleu = CocoBleu::new(&tok);
    let cider = CiderD::new(&tok);
    let rouge = coco_rouge_l(&tok);
    let sacre = SacreBleu::new(&raw);
    let cfg = ResampleConfig {
        resamples: 200,
        ..Default::default()
    };
    c.bench_function("cpu_bootstrap_200_all_corpus_metrics_3039", |b| {
        b.iter(|| bootstrap(&[&bleu, &cider, &rouge, &sacre], &cfg).expect("bootstrap"))
    });
}

criterion_group! {
    name = group;
    config = Criterion::default().sample_size(10);
    targets = benches
}
criterion_main!(group);
