//! METEOR properties on arbitrary text: no panic, scores in [0, 1], identical
//! texts score 1, corpus = score of summed per-sample statistics.

use std::sync::OnceLock;

use proptest::prelude::*;
use rad3d_metrics::meteor::{Meteor, MeteorResources, MeteorStats, score_from_stats};

/// The full scorer when its data are present, else exact + stem (the
/// properties hold for both).
fn meteor() -> &'static Meteor {
    static METEOR: OnceLock<Meteor> = OnceLock::new();
    METEOR.get_or_init(|| {
        let res = MeteorResources::default_location();
        if res.paraphrase_table().is_file() {
            Meteor::new(&res).expect("METEOR data load")
        } else {
            eprintln!("METEOR data missing: properties checked in exact + stem mode");
            Meteor::exact_stem_only()
        }
    })
}

/// Text mixing report words, punctuation the normaliser handles specially,
/// and arbitrary Unicode.
fn text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("the".to_string()),
        Just("lungs".to_string()),
        Just("lung".to_string()),
        Just("enlarged".to_string()),
        Just("cardiomegaly".to_string()),
        Just("3.5".to_string()),
        Just("cm.".to_string()),
        Just("U.S.".to_string()),
        Just("...".to_string()),
        Just("don't".to_string()),
        Just("|||".to_string()),
        Just("--".to_string()),
        "[a-zA-Z0-9.,;:'`\"()\\-]{1,8}",
        any::<String>(),
    ];
    prop::collection::vec(word, 0..12).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn scores_are_in_range_and_never_panic(
        refs in prop::collection::vec(text(), 0..3),
        hyp in text(),
    ) {
        let m = meteor();
        let refs: Vec<&str> = refs.iter().map(String::as_str).collect();
        let st = m.segment_stats(&refs, &hyp).unwrap();
        let s = score_from_stats(&st);
        prop_assert!((0.0..=1.0).contains(&s), "score {s}");
        prop_assert!(st.test_word_matches <= st.test_length);
        prop_assert!(st.reference_word_matches <= st.reference_length);
    }

    #[test]
    fn identical_texts_score_one(t in text()) {
        let m = meteor();
        // The protocol drops `|||` and double spaces from the hypothesis only.
        let t = t.replace("|||", "").replace("  ", " ");
        prop_assume!(!m.normalize(&t).is_empty());
        prop_assert_eq!(m.segment_score(&[&t], &t).unwrap(), 1.0);
    }

    #[test]
    fn corpus_is_the_score_of_summed_statistics(
        pairs in prop::collection::vec((text(), text()), 1..6),
    ) {
        let m = meteor();
        let pairs: Vec<(Vec<String>, String)> =
            pairs.into_iter().map(|(r, h)| (vec![r], h)).collect();
        let res = m.corpus(&pairs).unwrap();
        let sum: MeteorStats = res.stats.iter().sum();
        prop_assert_eq!(score_from_stats(&sum), res.score);
        prop_assert!((0.0..=1.0).contains(&res.score));
    }
}
