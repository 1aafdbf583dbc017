//! GREEN prompt construction and response parsing against GREEN's own code:
//! the shared fixture `green/green_cases.json` (the official judge's responses with their
//! expected counts and scores), and `tests/data/green_prompts.json` /
//! `green_parse_cases.json` made by `scripts/reference/green_prompts.py` from GREEN's source.
#![cfg(feature = "green")]

mod common;

use common::json;
use rad3d_metrics::green::{
    CATEGORIES, GreenResult, SUB_CATEGORIES, chat_text, clean_response, make_prompt, parse_response,
};
use serde_json::Value;

fn counts(v: &Value) -> [u64; 6] {
    let list: Vec<u64> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    list.try_into().unwrap()
}

#[test]
fn fixture_cases_parse_to_green_counts_and_scores() {
    let path = common::fixtures().join("green/green_cases.json");
    if !common::available(&path, "GREEN fixture cases") {
        return;
    }
    let fx = json(&path);
    let names: Vec<&str> = fx["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(names, CATEGORIES);
    let subs: Vec<&str> = fx["sub_categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(subs, SUB_CATEGORIES);
    let cases = fx["cases"].as_array().unwrap();
    let field = |k: &str| -> Vec<String> {
        cases
            .iter()
            .map(|c| c[k].as_str().unwrap().to_string())
            .collect()
    };
    let result = GreenResult::from_responses(
        &field("reference"),
        &field("hypothesis"),
        &field("judge_response"),
    )
    .unwrap();
    for (case, sample) in cases.iter().zip(&result.samples) {
        assert_eq!(
            sample.counts.significant,
            counts(&case["significant_errors"])
        );
        assert_eq!(
            sample.counts.matched,
            case["matched_findings"].as_u64().unwrap()
        );
        let want = case["green"].as_f64().unwrap();
        assert!(
            (sample.green - want).abs() < 1e-12,
            "green {} vs {want}",
            sample.green
        );
    }
    let greens: Vec<f64> = cases.iter().map(|c| c["green"].as_f64().unwrap()).collect();
    let mean = greens.iter().sum::<f64>() / greens.len() as f64;
    assert!((result.summary.mean - mean).abs() < 1e-12);
    let total_a: u64 = cases
        .iter()
        .map(|c| counts(&c["significant_errors"])[0])
        .sum();
    assert_eq!(result.summary.significant_totals[0], total_a);
}

#[test]
fn prompts_match_green_make_prompt_and_chat_template() {
    let data = json(&common::data("green_prompts.json"));
    let cases = data["cases"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for (i, case) in cases.iter().enumerate() {
        let prompt = make_prompt(
            case["reference"].as_str().unwrap(),
            case["hypothesis"].as_str().unwrap(),
        );
        assert_eq!(
            prompt,
            case["prompt"].as_str().unwrap(),
            "prompt of case {i}"
        );
        assert_eq!(
            chat_text(&prompt, "</s>"),
            case["chat_llama2"].as_str().unwrap(),
            "chat of case {i}"
        );
        assert_eq!(
            chat_text(&prompt, "<|im_end|>"),
            case["chat_im_end"].as_str().unwrap(),
            "chat of case {i}"
        );
    }
}

#[test]
fn parser_matches_green_on_corner_cases() {
    let cases = json(&common::data("green_parse_cases.json"));
    for (i, case) in cases.as_array().unwrap().iter().enumerate() {
        let response = case["response"].as_str().unwrap();
        let got = parse_response(response);
        assert_eq!(
            got.significant,
            counts(&case["significant_errors"]),
            "significant, case {i}"
        );
        assert_eq!(
            got.insignificant,
            counts(&case["insignificant_errors"]),
            "insignificant, case {i}"
        );
        assert_eq!(
            got.matched,
            case["matched_findings"].as_u64().unwrap(),
            "matched, case {i}"
        );
        assert!(
            (got.green() - case["green"].as_f64().unwrap()).abs() < 1e-12,
            "green, case {i}"
        );
        assert_eq!(
            clean_response(response),
            case["cleaned"].as_str().unwrap(),
            "cleaned, case {i}"
        );
    }
}

#[test]
fn parser_never_panics_on_odd_text() {
    for text in [
        "",
        "[Clinically Significant Errors]:",
        "[Clinically Significant Errors]:(a) : 9999999999999999999999999.",
        "[Matched Findings]:\n𝟗.",
        "[Clinically Significant Errors]:\n(a) é: ٣.\u{0}\n\n[Matched Findings]:\n1.",
        "\u{10ffff}(f) : 1.[Matched Findings]:",
    ] {
        let c = parse_response(text);
        assert!((0.0..=1.0).contains(&c.green()));
        let _ = clean_response(text);
    }
    assert!(GreenResult::from_responses(&["a"], &["b", "c"], &["x"]).is_err());
}
