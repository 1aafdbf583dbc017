//! METEOR 1.5 parity with the jar as pycocoevalcap runs it.
//!
//! Needs the METEOR data (`scripts/fetch-assets.sh` → `target/assets/meteor`,
//! or `$RAD3D_ASSETS/meteor`) and, for the public set, the shared fixtures:
//! without them the tests print a skip notice, except under `CI=true`.

mod common;

use std::sync::OnceLock;

use common::{lines, missing};
use rad3d_metrics::meteor::{
    Meteor, MeteorMode, MeteorResources, MeteorStats, ParaphraseTable, score_from_stats,
};

/// The full scorer, loaded once for all tests of this binary.
fn meteor() -> Option<&'static Meteor> {
    static METEOR: OnceLock<Option<Meteor>> = OnceLock::new();
    let m = METEOR.get_or_init(|| {
        let res = MeteorResources::default_location();
        if !res.paraphrase_table().is_file() || !res.synsets().is_file() {
            return None;
        }
        let m = Meteor::new(&res).expect("METEOR data load");
        assert_eq!(m.mode(), MeteorMode::Full);
        Some(m)
    });
    if m.is_none() {
        missing("METEOR data (target/assets/meteor)");
    }
    m.as_ref()
}

#[test]
fn public_fixture_matches_the_jar() {
    let dir = common::fixtures().join("metrics");
    let expected = dir.join("public_expected.json");
    if !expected.is_file() {
        missing("fixtures/metrics/public_expected.json");
        return;
    }
    let Some(m) = meteor() else { return };
    let exp = common::json(&expected);
    let refs = lines(&dir.join("public_refs.tok.txt"));
    let hyps = lines(&dir.join("public_hyps.tok.txt"));
    assert_eq!(refs.len(), hyps.len());
    let pairs: Vec<(Vec<&str>, &str)> = refs
        .iter()
        .zip(&hyps)
        .map(|(r, h)| (vec![r.as_str()], h.as_str()))
        .collect();
    let res = m.corpus(&pairs).unwrap();
    let want = exp["meteor"].as_f64().unwrap();
    let per: Vec<f64> = exp["meteor_per_sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(per.len(), res.per_sample.len());
    let max_delta = per
        .iter()
        .zip(&res.per_sample)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    eprintln!(
        "METEOR corpus {} vs jar {want} (|Δ| {:e}); max per-sample |Δ| {max_delta:e}",
        res.score,
        (res.score - want).abs()
    );
    // The acceptance bound is 0.005; the implementation reproduces the jar's
    // statistics exactly, so only JSON float parsing can differ.
    assert!((res.score - want).abs() < 1e-12);
    assert!(max_delta < 1e-12);
}

#[test]
fn generated_cases_match_the_jar_exactly() {
    let Some(m) = meteor() else { return };
    let data = common::json(&common::data("meteor_cases.json"));
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 30);
    let mut all = Vec::new();
    for c in cases {
        let refs: Vec<&str> = c["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        let hyp = c["hyp"].as_str().unwrap();
        let st = m.segment_stats(&refs, hyp).unwrap();
        assert_eq!(
            st.to_jar_string(),
            c["stats"].as_str().unwrap(),
            "statistics of {refs:?} / {hyp:?}"
        );
        let want = c["score"].as_f64().unwrap();
        assert!(
            (score_from_stats(&st) - want).abs() < 1e-12,
            "{refs:?} / {hyp:?}"
        );
        all.push(st);
    }
    let corpus: MeteorStats = all.iter().sum();
    let want = data["corpus"].as_f64().unwrap();
    assert!((score_from_stats(&corpus) - want).abs() < 1e-12);
}

#[test]
fn per_sample_statistics_reaggregate_to_the_corpus_score() {
    let Some(m) = meteor() else { return };
    let pairs = vec![
        (vec!["the heart is enlarged ."], "cardiomegaly ."),
        (vec!["no pleural effusion ."], "no pleural effusion ."),
        (
            vec!["small hiatal hernia ."],
            "a small hiatus hernia is noted .",
        ),
    ];
    let res = m.corpus(&pairs).unwrap();
    let again: MeteorStats = res.stats.iter().sum();
    assert_eq!(score_from_stats(&again), res.score);
    for (st, s) in res.stats.iter().zip(&res.per_sample) {
        assert_eq!(score_from_stats(st), *s);
    }
    // A resample with repeats is a plain sum of the chosen samples.
    let boot = res.stats[0] + res.stats[0] + res.stats[2];
    let s = score_from_stats(&boot);
    assert!((0.0..=1.0).contains(&s));
}

#[test]
fn missing_data_falls_back_to_exact_and_stem() {
    let m = Meteor::new(&MeteorResources::from_dir("/nonexistent/meteor-data")).unwrap();
    assert_eq!(m.mode(), MeteorMode::ExactStem);
    let res = m
        .corpus(&[(vec!["the nodules are small ."], "the nodule is small .")])
        .unwrap();
    assert_eq!(res.mode, MeteorMode::ExactStem);
    let st = res.stats[0];
    // "nodule"/"nodules" by stem; no function words without the list.
    assert_eq!(st.test_content_matches, [3.0, 1.0, 0.0, 0.0]);
    assert_eq!(st.test_function_words, 0.0);

    // With the synonym tables but without the paraphrase table: still exact + stem only.
    let full = MeteorResources::default_location();
    if !full.synsets().is_file() {
        missing("METEOR data (target/assets/meteor)");
        return;
    }
    let dir = std::env::temp_dir().join(format!("rad3d-meteor-partial-{}", std::process::id()));
    for (from, to) in [
        (full.synsets(), "synonym/english.synsets"),
        (full.exceptions(), "synonym/english.exceptions"),
        (full.function_words(), "function/english.words"),
        (full.nonbreaking_prefixes(), "nonbreaking/english.prefixes"),
    ] {
        let to = dir.join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    let partial = Meteor::new(&MeteorResources::from_dir(&dir)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(partial.mode(), MeteorMode::ExactStem);
    let st = partial
        .segment_stats(&["the heart is large ."], "the heart is big .")
        .unwrap();
    assert_eq!(
        st.test_content_matches[2], 0.0,
        "no synonym stage in fallback mode"
    );
    assert_eq!(st.test_function_words, 3.0);
}

/// Copies `from` to `to`, keeping its modification time (the paraphrase index is tied to
/// the table's size and modification time).
fn copy_keeping_mtime(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(from, to).unwrap();
    let mtime = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
}

#[test]
fn corrupt_paraphrase_index_is_rebuilt_not_trusted() {
    let Some(m) = meteor() else { return };
    let src = MeteorResources::default_location();
    let tmp = tempfile::tempdir().unwrap();
    let copy = MeteorResources::from_dir(tmp.path());
    for f in src.required_files() {
        copy_keeping_mtime(&f, &tmp.path().join(f.strip_prefix(&src.dir).unwrap()));
    }
    // The index the shared scorer above left beside the table, else a fresh one.
    let index = ParaphraseTable::index_path(&src.paraphrase_table());
    let index_copy = ParaphraseTable::index_path(&copy.paraphrase_table());
    if index.is_file() {
        std::fs::copy(&index, &index_copy).unwrap();
    } else {
        Meteor::new(&copy).unwrap();
    }
    // Damage the copy's probe table: every slot taken and pointing at every entry, the
    // state in which each lookup used to scan the whole table.
    let mut bytes = std::fs::read(&index_copy).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - n / 4..] {
        *b = 0x7f;
    }
    std::fs::write(&index_copy, &bytes).unwrap();
    let clock = std::time::Instant::now();
    let loaded = Meteor::new(&copy).unwrap();
    let pair = (
        vec!["there is no evidence of pleural effusion or pneumothorax ."],
        "no pleural fluid or pneumothorax is seen .",
    );
    let got = loaded.corpus(std::slice::from_ref(&pair)).unwrap();
    let want = m.corpus(std::slice::from_ref(&pair)).unwrap();
    assert_eq!(got.stats, want.stats);
    assert!(
        clock.elapsed().as_secs() < 120,
        "rebuilding took {:?}",
        clock.elapsed()
    );
    // Rebuilt: the rewritten index is intact again.
    assert_ne!(std::fs::read(&index_copy).unwrap(), bytes);
}
