//! End to end: a NIfTI file through the whole `Pipeline` to report text on CPU, and the
//! pipeline directory's save → load round trip.

use burn::backend::Flex;
use rad3d_prefix::classifier::{AnomalyClassifierConfig, LabelSet};
use rad3d_prefix::llm::{Gpt2Config, ModelConfig};
use rad3d_prefix::model::{
    PrefixModel, PromptIds, ReportTokenizer, WordTokenizer, llm_for_variant,
};
use rad3d_prefix::prelude::*;
use rad3d_prefix::quickstart::{quickstart_encoder, quickstart_preprocess};
use rad3d_prefix::volume::{Finding, Phantom, PhantomConfig};

type B = Flex;

const LABELS: [&str; 3] = ["Cardiomegaly", "Pleural effusion", "Lung nodule"];

/// The word vocabulary of the test pipelines: a few reports and R2GenGPT's prompt.
fn vocabulary() -> WordTokenizer {
    WordTokenizer::fit([
        "Cardiomegaly is observed.",
        "Pleural effusion was not observed.",
        "No lung nodule is seen.",
        rad3d_prefix::projector::R2GEN_PROMPT_BEFORE,
        rad3d_prefix::projector::R2GEN_PROMPT_AFTER,
    ])
}

fn build(dir: &std::path::Path) -> Pipeline<B> {
    build_variant(dir, Variant::V3)
}

/// A pipeline of `variant` with random weights, saved to `dir`.
fn build_variant(dir: &std::path::Path, variant: Variant) -> Pipeline<B> {
    let device = Default::default();
    let tok = vocabulary();
    let eos = tok.eos_id();
    let lm = Gpt2Config::new(32, 1, 2)
        .with_vocab_size(tok.vocab_size())
        .with_max_position_embeddings(64)
        .with_bos_token_id(Some(eos))
        .with_eos_token_ids(vec![eos]);
    let llm = ModelConfig::from(lm.clone()).init::<B>(3, &device).unwrap();
    let llm = llm_for_variant(llm, variant).unwrap();
    let encoder_cfg = quickstart_encoder();
    let encoder = encoder_cfg.init::<B>(&device);
    let classifier = AnomalyClassifierConfig::new(LABELS.len())
        .with_d_latent(encoder_cfg.dim_latent)
        .init::<B>(&device);
    let projector = variant.projector_config(encoder_cfg.dim_latent, LABELS.len(), 32, 4, 1);
    let prompt = PromptIds::for_variant(variant, &tok).unwrap();
    let model = PrefixModel::new(variant, &projector, llm, prompt, &device).unwrap();
    let config = PipelineConfig {
        preprocess: quickstart_preprocess(),
        encoder: encoder_cfg,
        encoder_weights: "encoder.mpk".into(),
        classifier_weights: "classifier.safetensors".into(),
        variant,
        projector,
        projector_weights: "projector.mpk".into(),
        llm: LlmSpec::Record {
            config: lm.into(),
            weights: "llm.mpk".into(),
            words: tok.words().to_vec(),
        },
        max_new_tokens: 12,
    };
    let labels = LabelSet::from_names(&LABELS).unwrap();
    let p = Pipeline::from_parts(
        config,
        encoder,
        classifier,
        labels,
        model,
        Box::new(tok),
        &device,
    )
    .unwrap();
    p.save(dir).unwrap();
    p
}

#[test]
fn nifti_to_report_and_directory_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let nifti = dir.path().join("chest.nii.gz");
    Phantom::write(
        &nifti,
        &PhantomConfig::small(11).with_findings(vec![Finding::Cardiomegaly]),
    )
    .unwrap();

    let pipeline = build(&dir.path().join("pipeline"));
    let report = pipeline.generate_from_nifti(&nifti).unwrap();
    assert_eq!(report.finding_probabilities.len(), LABELS.len());
    for ((name, p), expected) in report.finding_probabilities.iter().zip(LABELS) {
        assert_eq!(name, expected);
        assert!((0.0..=1.0).contains(p));
    }
    // Random weights write words of the vocabulary (or stop at once); never garbage.
    assert!(report.text.is_ascii());

    let device = Default::default();
    let loaded = Pipeline::<B>::load(dir.path().join("pipeline"), &device).unwrap();
    let again = loaded.generate_from_nifti(&nifti).unwrap();
    assert_eq!(
        again.text, report.text,
        "a saved and reloaded pipeline must write the same report"
    );
    // The reloaded weights are the same values in new buffers; the CPU backend's AVX-512
    // kernels may split a dot product differently with a buffer's alignment, so the
    // probabilities agree to rounding, not always to the last bit.
    assert_eq!(
        again.finding_probabilities.len(),
        report.finding_probabilities.len()
    );
    for ((name_a, pa), (name_b, pb)) in again
        .finding_probabilities
        .iter()
        .zip(&report.finding_probabilities)
    {
        assert_eq!(name_a, name_b);
        assert!(
            (pa - pb).abs() <= 1e-6,
            "{name_a}: {pa} after reload vs {pb}"
        );
    }

    // Batch and latent entry points agree with the single-file path.
    let batch = loaded.generate_from_nifti_batch(&[&nifti, &nifti]).unwrap();
    assert_eq!(batch.len(), 2);
    assert_eq!(batch[0].text, report.text);
    // Volumes from any reader take the same path as NIfTI files.
    let volume = rad3d_prefix::volume::read_nifti(&nifti).unwrap();
    let from_volume = loaded.generate(&[volume]).unwrap();
    assert_eq!(from_volume[0].text, report.text);
    assert!(loaded.generate(&[]).unwrap().is_empty());
}

#[test]
fn bad_pipeline_directory_is_an_error() {
    let device = Default::default();
    let dir = tempfile::tempdir().unwrap();
    let err = Pipeline::<B>::load(dir.path(), &device)
        .err()
        .expect("no pipeline.json");
    assert!(err.to_string().contains("pipeline.json"), "{err}");
    std::fs::write(dir.path().join("pipeline.json"), "{\"preprocess\": 3}").unwrap();
    let err = Pipeline::<B>::load(dir.path(), &device)
        .err()
        .expect("malformed");
    assert!(err.to_string().contains("pipeline.json"), "{err}");
}

/// The baselines' pipelines save, load and report like the others': R2GenGPT's decodes
/// with its beam search and penalties, the fine-tuned decoder's LLM comes back with its
/// trained cross-attention.
#[test]
fn r2gengpt_and_finetuned_decoder_pipelines_load_and_report() {
    use rad3d_prefix::llm::{Decoding, GenerationConfig};
    let device = Default::default();
    let dim = quickstart_encoder().dim_latent;
    let latent: Vec<f32> = (0..dim)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) * 0.3)
        .collect();
    let logits = [1.5f32, -0.5, 0.25];
    for variant in [Variant::R2GenGpt, Variant::FineTunedDecoder] {
        let dir = tempfile::tempdir().unwrap();
        let built = build_variant(dir.path(), variant);
        let report = built.generate_from_latent(&latent, &logits).unwrap();
        let loaded = Pipeline::<B>::load(dir.path(), &device).unwrap();
        assert_eq!(loaded.config().variant, variant);
        let again = loaded.generate_from_latent(&latent, &logits).unwrap();
        assert_eq!(
            again.text, report.text,
            "{variant}: reload changed the report"
        );
        assert_eq!(again.finding_probabilities.len(), LABELS.len());

        let decoding = loaded.decoding();
        let eos = decoding.eos_token_ids.clone().unwrap()[0];
        let input = burn::tensor::Tensor::<B, 2>::from_data(
            burn::tensor::TensorData::new(
                latent.iter().chain(&logits).copied().collect::<Vec<f32>>(),
                [1, dim + logits.len()],
            ),
            &device,
        );
        let input = match variant.input() {
            rad3d_prefix::projector::PrefixInput::Latent => input.narrow(1, 0, dim),
            _ => input,
        };
        let model = loaded.model();
        let tok = vocabulary();
        if variant == Variant::R2GenGpt {
            let r2gen = GenerationConfig::r2gengpt(12).with_min_new_tokens(12);
            assert_eq!(decoding, r2gen.clone().with_eos(vec![eos]));
            assert_eq!(
                decoding.decoding,
                Decoding::Beam {
                    num_beams: 3,
                    length_penalty: 2.0,
                    early_stopping: false
                }
            );
            assert_eq!(decoding.repetition_penalty, 2.0);
            let ids = model.generate_with(input, &decoding, eos).unwrap();
            assert_eq!(ids[0].len(), 12, "R2GenGPT's minimum length");
            assert_eq!(tok.decode(&ids[0]), report.text);
        } else {
            assert_eq!(decoding, GenerationConfig::greedy(12).with_eos(vec![eos]));
            assert!(rad3d_prefix::llm::CausalLm::has_cross_attention(&model.llm));
            assert_eq!(model.prefix_len(), 1);
            let ids = model.generate_with(input, &decoding, eos).unwrap();
            assert_eq!(tok.decode(&ids[0]), report.text);
        }
    }
}
