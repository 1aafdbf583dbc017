//! Property tests: scores stay in range, identical texts give the maxima, bootstrap
//! intervals contain the point estimate, a system compared with itself has p ≈ 1, and no
//! text input panics.

use proptest::prelude::*;
use rad3d_metrics::coco::{CiderD, CocoBleu, DfMode, coco_rouge_l};
use rad3d_metrics::rouge_score::{RougeScorer, RougeType};
use rad3d_metrics::sacrebleu::SacreBleu;
use rad3d_metrics::significance::{
    ResampleConfig, bootstrap, paired_bootstrap, paired_permutation,
};
use rad3d_metrics::text::basic_tokenize;
use rad3d_metrics::{Corpus, CorpusMetric};

const WORDS: &[&str] = &[
    "the", "lungs", "are", "clear", ".", "no", "pleural", "effusion", "nodule", "3.5", "cm", "in",
    "right", "upper", "lobe", ",", "heart", "size", "normal", "mild",
];

/// A report of 0..25 words from a small vocabulary (so n-grams overlap).
fn report() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(WORDS), 0..25).prop_map(|w| w.join(" "))
}

fn corpus_strategy() -> impl Strategy<Value = Corpus> {
    prop::collection::vec((report(), report()), 2..12).prop_map(|pairs| {
        let (h, r): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        Corpus::single(h, r).unwrap()
    })
}

fn all_types() -> [RougeType; 4] {
    [
        RougeType::N(1),
        RougeType::N(2),
        RougeType::L,
        RougeType::Lsum,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn scores_in_range(c in corpus_strategy()) {
        for b in CocoBleu::new(&c).score() {
            prop_assert!((0.0..=1.0 + 1e-9).contains(&b), "bleu {b}");
        }
        let r = coco_rouge_l(&c).score()[0];
        prop_assert!((0.0..=1.0 + 1e-12).contains(&r));
        let cider = CiderD::new(&c).score()[0];
        prop_assert!((0.0..=10.0 + 1e-9).contains(&cider), "cider {cider}");
        let s = SacreBleu::new(&c).score()[0];
        prop_assert!((0.0..=100.0 + 1e-9).contains(&s));
        for v in RougeScorer::new(&all_types(), true).corpus(&c).score() {
            prop_assert!((0.0..=1.0 + 1e-12).contains(&v));
        }
    }

    #[test]
    fn identical_texts_give_maxima(texts in prop::collection::vec(report(), 2..10)) {
        // Only non-empty texts of ≥ 4 tokens have all four n-gram orders.
        let texts: Vec<String> = texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| format!("w{i} a b c {t}"))
            .collect();
        let c = Corpus::single(texts.clone(), texts).unwrap();
        for b in CocoBleu::new(&c).score() {
            prop_assert!((b - 1.0).abs() < 1e-6, "bleu {b}");
        }
        prop_assert!((coco_rouge_l(&c).score()[0] - 1.0).abs() < 1e-12);
        prop_assert!((SacreBleu::new(&c).score()[0] - 100.0).abs() < 1e-9);
        for v in RougeScorer::new(&all_types(), false).corpus(&c).score() {
            prop_assert!((v - 1.0).abs() < 1e-12);
        }
        // CIDEr-D of a perfect match is 10 unless every n-gram occurs in every document.
        let cider = CiderD::new(&c);
        for v in cider.per_sample() {
            prop_assert!(*v <= 10.0 + 1e-9);
        }
        prop_assert!((cider.per_sample()[0] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn bootstrap_contains_point_and_self_p_is_one(c in corpus_strategy(), seed in any::<u64>()) {
        let cfg = ResampleConfig { resamples: 200, confidence: 0.95, seed };
        let bleu = CocoBleu::new(&c);
        let cider = CiderD::new(&c);
        let fixed = CiderD::with_mode(&c, DfMode::Fixed);
        let rouge = coco_rouge_l(&c);
        let sacre = SacreBleu::new(&c);
        for ci in bootstrap(&[&bleu, &fixed, &rouge, &sacre], &cfg).unwrap() {
            let i = ci.interval;
            let slack = 1e-9 * i.point.abs().max(1.0);
            prop_assert!(i.lower - slack <= i.point && i.point <= i.upper + slack, "{}: {:?}", ci.name, i);
        }
        let p = paired_permutation(&cider, &cider, &cfg).unwrap();
        prop_assert!((p[0].p_value - 1.0).abs() < 1e-12);
        let p = paired_permutation(&bleu, &bleu, &cfg).unwrap();
        prop_assert!(p.iter().all(|r| (r.p_value - 1.0).abs() < 1e-12));
        let p = paired_bootstrap(&rouge, &rouge, &cfg).unwrap();
        prop_assert!((p[0].p_value - 1.0).abs() < 1e-12);
    }

    #[test]
    fn no_panic_on_arbitrary_unicode(h in any::<String>(), r in any::<String>(), r2 in "\\PC*") {
        let c = Corpus::new(vec![h.clone(), r2.clone()], vec![vec![r.clone()], vec![h.clone(), r.clone()]]).unwrap();
        let _ = CocoBleu::new(&c).score();
        let _ = coco_rouge_l(&c).score();
        let _ = CiderD::new(&c).score();
        let _ = SacreBleu::new(&c).score();
        let _ = RougeScorer::new(&all_types(), true).corpus(&c).score();
        let _ = basic_tokenize(&h);
        let cb = c.map_text(basic_tokenize);
        let _ = CiderD::new(&cb).score();
    }
}

#[test]
fn bootstrap_interval_contains_point_on_a_regular_corpus() {
    // 60 pairs with partial overlap: every corpus metric's 95 % interval brackets the point.
    let hyps: Vec<String> = (0..60)
        .map(|i| {
            format!(
                "the lungs are clear . nodule {} cm in lobe {}",
                i % 7,
                i % 3
            )
        })
        .collect();
    let refs: Vec<String> = (0..60)
        .map(|i| format!("lungs clear . a nodule {} cm in the lobe {}", i % 5, i % 4))
        .collect();
    let c = Corpus::single(hyps, refs).unwrap();
    let bleu = CocoBleu::new(&c);
    let cider = CiderD::new(&c);
    let rouge = coco_rouge_l(&c);
    let sacre = SacreBleu::new(&c);
    let cfg = ResampleConfig {
        resamples: 1000,
        ..Default::default()
    };
    for ci in bootstrap(&[&bleu, &cider, &rouge, &sacre], &cfg).unwrap() {
        let i = ci.interval;
        assert!(
            i.lower <= i.point && i.point <= i.upper,
            "{}: {i:?}",
            ci.name
        );
        assert!(i.upper > i.lower, "{}: {i:?}", ci.name);
    }
}
