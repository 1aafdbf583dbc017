//! BERTScore throughput with all-MiniLM-L6-v2 on the CPU (Flex backend).
//!
//! `cargo bench -p rad3d-metrics --features bertscore --bench bertscore` runs criterion on
//! the 25 public fixture pairs. With `RAD3D_BERTSCORE_PAIRS=DIR` (holding `refs.txt` and
//! `hyps.txt`) it instead times one full scoring of those pairs, model loading included,
//! and prints JSON — what `scripts/bench/bertscore.sh` compares with the Python package.

use std::path::PathBuf;
use std::time::Instant;

use burn::backend::Flex;
use criterion::{Criterion, criterion_group};
use rad3d_metrics::bertscore::{BertScoreOptions, BertScorer};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn model_dir() -> PathBuf {
    std::env::var_os("RAD3D_ASSETS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/assets"))
        .join("all-MiniLM-L6-v2")
}

fn lines(path: PathBuf) -> Vec<String> {
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

fn cpu_bertscore(c: &mut Criterion) {
    let fixtures = std::env::var_os("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/fixtures"))
        .join("metrics");
    let refs = lines(fixtures.join("public_refs.txt"));
    let hyps = lines(fixtures.join("public_hyps.txt"));
    let scorer = BertScorer::<Flex>::load(model_dir(), Some(6), &Default::default()).unwrap();
    let options = BertScoreOptions::default();
    let mut group = c.benchmark_group("bertscore");
    group.sample_size(10);
    group.bench_function("cpu_minilm_l6_25_pairs", |b| {
        b.iter(|| scorer.score(&refs, &hyps, &options).unwrap())
    });
    let idf = BertScoreOptions {
        idf: true,
        baseline: None,
    };
    group.bench_function("cpu_minilm_l6_25_pairs_idf", |b| {
        b.iter(|| scorer.score(&refs, &hyps, &idf).unwrap())
    });
    group.finish();
}

criterion_group!(benches, cpu_bertscore);

fn main() {
    if let Some(dir) = std::env::var_os("RAD3D_BERTSCORE_PAIRS") {
        let dir = PathBuf::from(dir);
        let (refs, hyps) = (lines(dir.join("refs.txt")), lines(dir.join("hyps.txt")));
        let start = Instant::now();
        let scorer = BertScorer::<Flex>::load(model_dir(), Some(6), &Default::default()).unwrap();
        let loaded = start.elapsed().as_secs_f64();
        let result = scorer
            .score(&refs, &hyps, &BertScoreOptions::default())
            .unwrap();
        let total = start.elapsed().as_secs_f64();
        println!(
            "{{\"pairs\": {}, \"load_seconds\": {loaded}, \"seconds\": {total}, \"P\": {}, \"R\": {}, \"F\": {}}}",
            refs.len(),
            result.mean_precision(),
            result.mean_recall(),
            result.mean_f1()
        );
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
