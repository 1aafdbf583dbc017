//! Scores one very long report pair, to measure peak memory from outside
//! (`/usr/bin/time -v`): the scorers must stay linear in the text.
//!
//! ```text
//! cargo run -p rad3d-metrics --example long_report -- suite 200000 1000
//! cargo run -p rad3d-metrics --example long_report -- evaluate 60000 1000
//! cargo run -p rad3d-metrics --example long_report -- lsum 200000 1000
//! ```
//!
//! `suite` calls [`MetricSuite::score`] directly (no size limit); `lsum` scores
//! rouge-score ROUGE-L and ROUGE-Lsum (one sentence each side); `evaluate` goes through
//! [`evaluate`], which refuses reports over `MAX_REPORT_BYTES`. The reports are random
//! words (3–10 lower-case letters) drawn from a vocabulary of the given size; METEOR uses
//! its full data when found, else exact + stem matching.

use std::time::Instant;

use rad3d_metrics::evaluation::{EvaluateOptions, evaluate};
use rad3d_metrics::meteor::{Meteor, MeteorSource};
use rad3d_metrics::reports::ReportSet;
use rad3d_metrics::rouge_score::{RougeScorer, RougeType};
use rad3d_metrics::suite::{MetricSuite, SuiteConfig};
use rad3d_metrics::{Corpus, Result};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// About `bytes` bytes of words drawn from `vocab`.
fn text(rng: &mut StdRng, vocab: &[String], bytes: usize) -> String {
    let mut out = String::with_capacity(bytes + 16);
    while out.len() < bytes {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&vocab[rng.random_range(0..vocab.len())]);
    }
    out
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mode = args.get(1).map_or("suite", String::as_str);
    let bytes: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let words: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let mut rng = StdRng::seed_from_u64(7);
    let vocab: Vec<String> = (0..words)
        .map(|_| {
            let len = rng.random_range(3..=10);
            (0..len)
                .map(|_| char::from(b'a' + rng.random_range(0..26u8)))
                .collect()
        })
        .collect();
    let reference = text(&mut rng, &vocab, bytes);
    let hypothesis = text(&mut rng, &vocab, bytes);
    let meteor = MeteorSource::Locate.load().unwrap_or_else(|e| {
        eprintln!("{e}; exact + stem METEOR");
        Meteor::exact_stem_only()
    });
    let clock = Instant::now();
    match mode {
        "suite" => {
            let corpus = Corpus::single(vec![hypothesis], vec![reference])?;
            match MetricSuite::score(&corpus, &meteor, &SuiteConfig::default()) {
                Ok(suite) => println!("{:?}", suite.scores()),
                Err(e) => println!("refused: {e}"),
            }
        }
        "lsum" => {
            let mut scorer = RougeScorer::new(&[RougeType::L, RougeType::Lsum], true);
            println!("{:?}", scorer.score(&reference, &hypothesis));
        }
        _ => {
            let set = |label: &str, t: String| ReportSet::new(label, vec![("0".into(), t)]);
            let result = set("refs.txt", reference).and_then(|refs| {
                let hyps = set("hyps.txt", hypothesis)?;
                let options = EvaluateOptions {
                    meteor_approx: true,
                    ..Default::default()
                };
                evaluate(&refs, &hyps, None, &meteor, &[], &options)
            });
            match result {
                Ok(ev) => println!("{:?}", ev.values),
                Err(e) => println!("refused: {e}"),
            }
        }
    }
    eprintln!(
        "{mode} {bytes} bytes: {:.2} s",
        clock.elapsed().as_secs_f64()
    );
    Ok(())
}
