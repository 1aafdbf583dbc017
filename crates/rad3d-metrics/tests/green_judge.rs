//! The GREEN judge loop end to end with a real small model (SmolLM2-135M-Instruct GGUF,
//! fetched by scripts/fetch-assets.sh): prompt → greedy generation → cleaning → parsing.
//! SmolLM2 is no radiology judge, so only the structure is asserted, not the quality.
#![cfg(feature = "green")]

mod common;

use std::path::PathBuf;

use burn::backend::Flex;
use rad3d_metrics::green::{Green, GreenOptions, parse_response};

fn gguf() -> PathBuf {
    common::assets().join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

#[test]
fn smollm2_judge_runs_end_to_end() {
    let path = gguf();
    if !common::available(&path, "SmolLM2 GGUF (scripts/fetch-assets.sh)") {
        return;
    }
    let green = Green::<Flex>::new(&path, &Default::default())
        .unwrap()
        .with_options(GreenOptions {
            max_new_tokens: Some(6),
            ..Default::default()
        });
    let ids = green
        .prompt_ids("Small left effusion.", "Left pleural effusion.")
        .unwrap();
    assert!(
        ids.len() > 400 && ids.len() < 2048,
        "prompt of {} tokens",
        ids.len()
    );
    let refs = ["Small left effusion."];
    let hyps = ["Left pleural effusion."];
    let result = green.score(&refs, &hyps).unwrap();
    assert_eq!(result.samples.len(), 1);
    let sample = &result.samples[0];
    eprintln!("judge wrote: {:?}", sample.response);
    assert_eq!(sample.reference, refs[0]);
    // The response is what follows the prompt: none of the prompt's text survives cleaning.
    assert!(
        !sample.response.contains("Objective: Evaluate"),
        "{:?}",
        sample.response
    );
    assert!(!sample.response.contains("<|assistant|>"));
    assert_eq!(sample.counts, parse_response(&sample.response));
    assert!((0.0..=1.0).contains(&sample.green));
    assert_eq!(result.summary.mean, sample.green);
    assert_eq!(result.summary.std, 0.0);
}
