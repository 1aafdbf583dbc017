//! The loop's guarantees: frozen parameters get neither gradients nor optimizer state,
//! kill-and-resume reproduces an uninterrupted run, corrupted checkpoints are refused.

mod common;

use std::collections::HashSet;
use std::path::Path;

use burn::backend::{Autodiff, Flex};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::Tensor;
use burn::tensor::backend::Backend;
use common::{TinyLm, TinyLmConfig};
use rad3d_model::{PrefixModel, PromptIds, ReportTokenizer, WordTokenizer};
use rad3d_projector::Variant;
use rad3d_train::synthetic::{SyntheticOptions, ct_rate_style_findings, synthetic_studies};
use rad3d_train::*;

type B = Autodiff<Flex>;

struct Ids(Vec<ParamId>);
impl<B: Backend> ModuleVisitor<B> for Ids {
    fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
        self.0.push(p.id);
    }
}
fn ids<M: Module<B>>(m: &M) -> HashSet<ParamId> {
    let mut v = Ids(Vec::new());
    m.visit(&mut v);
    v.0.into_iter().collect()
}

struct Data {
    tok: WordTokenizer,
    train: Vec<EncodedExample>,
    valid: Vec<EncodedExample>,
}

fn data(n_train: usize, variant: Variant) -> Data {
    let findings = &ct_rate_style_findings()[..3];
    let opts = SyntheticOptions {
        d_latent: 16,
        ..Default::default()
    };
    let tr = synthetic_studies(findings, n_train, Split::Train, "train", &opts);
    let va = synthetic_studies(findings, 6, Split::Valid, "valid", &opts);
    let tok = WordTokenizer::fit(tr.iter().chain(&va).map(|s| s.example.report.as_str()));
    let enc = |s: &[rad3d_train::synthetic::SyntheticStudy]| {
        let cache: std::collections::HashMap<_, _> = s
            .iter()
            .map(|s| (s.example.name.clone(), s.embedding.clone()))
            .collect();
        let ex: Vec<&Example> = s.iter().map(|s| &s.example).collect();
        encode_examples(&ex, &cache, variant, &tok, 64, &mut SkipCounts::default()).unwrap()
    };
    Data {
        train: enc(&tr),
        valid: enc(&va),
        tok: tok.clone(),
    }
}

/// The LLM always comes from seed 5 (a frozen LLM is reloaded from its source, not from
/// checkpoints); the projector from `projector_seed`.
fn model_seeded(
    variant: Variant,
    vocab: usize,
    d_input_latent: usize,
    projector_seed: u64,
    device: &burn::tensor::ops::Device<B>,
) -> PrefixModel<B, TinyLm<B>> {
    B::seed(device, 5);
    let llm = TinyLmConfig::new(vocab)
        .with_d_model(32)
        .with_layers(1)
        .init::<B>(device);
    B::seed(device, projector_seed);
    let cfg = variant.projector_config(d_input_latent, 3, 32, 3, 1);
    PrefixModel::new(variant, &cfg, llm, PromptIds::default(), device).unwrap()
}

fn model(
    variant: Variant,
    vocab: usize,
    d_input_latent: usize,
    device: &burn::tensor::ops::Device<B>,
) -> PrefixModel<B, TinyLm<B>> {
    model_seeded(variant, vocab, d_input_latent, 1, device)
}

#[test]
fn frozen_llm_gets_no_gradients_and_no_adam_state_v1_does() {
    let device = Default::default();
    B::seed(&device, 1);
    for variant in [Variant::V3, Variant::V1] {
        let d = data(8, variant);
        let m = model(variant, d.tok.vocab_size(), 16, &device);
        let projector_ids = ids(&m.projector);
        let llm_ids = ids(&m.llm);
        let refs: Vec<&EncodedExample> = d.train.iter().collect();
        let batch = TokenBatch::<B>::from_examples(&refs, 0, &device);
        let grads = m.loss(&batch).backward();
        let gp = GradientsParams::from_grads(grads, &m);
        let with_grad: HashSet<ParamId> = projector_ids
            .iter()
            .chain(&llm_ids)
            .copied()
            .filter(|id| gp.get::<Flex, 1>(*id).is_some() || gp.get::<Flex, 2>(*id).is_some())
            .collect();
        let llm_before: Vec<f32> = m.llm.wte.val().into_data().to_vec().unwrap();
        let mut optim = AdamConfig::new().init::<B, PrefixModel<B, TinyLm<B>>>();
        let m = optim.step(1e-2, m, gp);
        let state: HashSet<ParamId> = optim.to_record().keys().copied().collect();
        let llm_after: Vec<f32> = m.llm.wte.val().into_data().to_vec().unwrap();
        assert!(
            projector_ids.is_subset(&with_grad),
            "{variant}: every projector tensor has a gradient"
        );
        assert!(
            projector_ids.is_subset(&state),
            "{variant}: projector has Adam state"
        );
        if variant.llm_trainable() {
            assert!(llm_ids.is_subset(&with_grad), "V-1 trains the LLM");
            assert!(llm_ids.is_subset(&state));
            assert_ne!(llm_before, llm_after, "V-1 updates the LLM");
        } else {
            assert!(
                with_grad.is_disjoint(&llm_ids),
                "frozen LLM received gradients"
            );
            assert!(state.is_disjoint(&llm_ids), "frozen LLM got Adam moments");
            assert_eq!(state.len(), projector_ids.len());
            assert_eq!(llm_before, llm_after, "frozen LLM changed");
        }
    }
}

/// Every value of a module's parameters, in visiting order.
fn weights<M: Module<B>>(m: &M) -> Vec<f32> {
    struct All(Vec<f32>);
    impl<B: Backend> ModuleVisitor<B> for All {
        fn visit_float<const D: usize>(&mut self, p: &Param<Tensor<B, D>>) {
            self.0.extend(
                p.val()
                    .into_data()
                    .convert::<f32>()
                    .to_vec::<f32>()
                    .unwrap(),
            );
        }
    }
    let mut a = All(Vec::new());
    m.visit(&mut a);
    a.0
}

fn run(
    dir: &Path,
    config: &TrainConfig,
    seed: u64,
) -> Result<TrainOutcome<PrefixModel<B, TinyLm<B>>>> {
    let device = Default::default();
    let d = data(20, Variant::V3);
    let m = model_seeded(Variant::V3, d.tok.vocab_size(), 16, seed, &device);
    train(m, &d.train, &d.valid, config, dir, &mut Silent, &device)
}

#[test]
fn kill_and_resume_reproduces_the_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        epochs: 2,
        batch_size: 3,
        grad_accum: 2,
        lr: 5e-3,
        warmup_steps: 2,
        linear_decay: true,
        grad_clip: Some(1.0),
        checkpoint_every: Some(2),
        seed: 3,
        ..Default::default()
    };
    // 20 examples → 7 batches → 4 optimizer steps per epoch, 8 in all.
    let full = run(&tmp.path().join("full"), &config, 5).unwrap();
    assert!(!full.interrupted);
    assert_eq!(full.state.step, 8);

    // Killed at step 7: the last checkpoint is the one of step 6 (epoch 1, periodic).
    let dir = tmp.path().join("killed");
    let killed = run(
        &dir,
        &TrainConfig {
            interrupt_after_steps: Some(7),
            ..config.clone()
        },
        5,
    )
    .unwrap();
    assert!(killed.interrupted);
    let saved = read_state(&RunDir(dir.clone()).last()).unwrap();
    assert_eq!((saved.step, saved.epoch), (6, 1));

    // Resume with a different initialisation seed: everything must come from the checkpoint.
    let resumed = run(
        &dir,
        &TrainConfig {
            resume: true,
            ..config.clone()
        },
        99,
    )
    .unwrap();
    assert_eq!(resumed.resumed_from_step, Some(6));
    assert_eq!(resumed.state.step, 8);
    let (a, b) = (weights(&full.model), weights(&resumed.model));
    let projector_len = full.model.projector.num_params();
    let max_diff = a
        .iter()
        .zip(&b)
        .take(projector_len)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max);
    assert!(max_diff <= 1e-6, "resumed projector differs by {max_diff}");
    assert_eq!(full.state.val_losses.len(), 2);
    for (x, y) in full.state.val_losses.iter().zip(&resumed.state.val_losses) {
        assert!((x - y).abs() < 1e-6, "val loss {x} vs {y}");
    }
    // The metrics file has no duplicated lines from the redone step.
    let lines = |d: &Path| {
        std::fs::read_to_string(RunDir(d.to_path_buf()).metrics())
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(&dir), lines(&tmp.path().join("full")));
    assert_eq!(lines(&dir), 8 + 2);
    assert!(RunDir(dir.clone()).loss_svg().exists());
    assert!(RunDir(dir).best().join("projector.mpk").exists());
}

/// One epoch of batches of 4 at lr 1e-3: the run the checkpoint tests start from.
fn one_epoch() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: 4,
        lr: 1e-3,
        ..Default::default()
    }
}

#[test]
fn corrupted_checkpoint_is_detected_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let config = one_epoch();
    let first = run(&dir, &config, 1).unwrap();
    let corrupt = |file: &Path| {
        let mut bytes = std::fs::read(file).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0x5a;
        std::fs::write(file, &bytes).unwrap();
    };
    let run_dir = RunDir(dir.clone());
    // A killed checkpoint write leaves a temporary folder; the next start removes it.
    let stale = dir.join("checkpoints").join(".last.tmp-99999");
    std::fs::create_dir_all(&stale).unwrap();
    // A damaged `last/` falls back to the verified `best/`, never to a fresh start.
    corrupt(&run_dir.last().join("projector.mpk"));
    let resumed = run(
        &dir,
        &TrainConfig {
            epochs: 2,
            resume: true,
            ..config.clone()
        },
        1,
    )
    .unwrap();
    assert_eq!(resumed.resumed_from_step, Some(first.state.step));
    assert!(!stale.exists(), "stale temporary folder left behind");
    // With both damaged, resuming is an error naming the files, not a restart.
    corrupt(&run_dir.last().join("projector.mpk"));
    corrupt(&run_dir.best().join("projector.mpk"));
    let err = run(
        &dir,
        &TrainConfig {
            epochs: 3,
            resume: true,
            ..config.clone()
        },
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("nothing to resume")
            && err.contains("projector.mpk")
            && err.contains("SHA-256"),
        "{err}"
    );
    // A deleted `last/` and an empty manifest in `best/`: an error as well.
    std::fs::remove_dir_all(run_dir.last()).unwrap();
    std::fs::write(run_dir.best().join("manifest.json"), r#"{"files": {}}"#).unwrap();
    let err = run(
        &dir,
        &TrainConfig {
            epochs: 3,
            resume: true,
            ..config
        },
        1,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("lists no files"), "{err}");
}

/// A metrics file that lost its tail is cut back to its last complete line on resume,
/// never padded with NUL bytes up to the length the checkpoint recorded.
#[test]
fn a_truncated_metrics_file_is_not_padded_on_resume() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let config = one_epoch();
    run(&dir, &config, 1).unwrap();
    let metrics = RunDir(dir.clone()).metrics();
    let bytes = std::fs::read(&metrics).unwrap();
    std::fs::write(&metrics, &bytes[..bytes.len() / 2]).unwrap();
    run(
        &dir,
        &TrainConfig {
            epochs: 2,
            resume: true,
            ..config
        },
        1,
    )
    .unwrap();
    let after = std::fs::read(&metrics).unwrap();
    assert!(!after.contains(&0), "NUL bytes in {}", metrics.display());
    for line in String::from_utf8(after).unwrap().lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
}

/// The fine-tuned decoder (clip-text-decoder): the projected latent is the encoder state
/// of GPT-2 blocks with cross-attention, and training with AdamW updates the LLM, its
/// cross-attention and the projection, lowering the validation loss; the reports it
/// generates (KV cache, rows dropped as they finish) are the uncached greedy argmax
/// chain through the conditioned LLM.
#[test]
fn finetuned_decoder_trains_llm_and_cross_attention_with_adamw() {
    let device = Default::default();
    let variant = Variant::FineTunedDecoder;
    let d = data(12, variant);
    B::seed(&device, 5);
    let plain = TinyLmConfig::new(d.tok.vocab_size())
        .with_d_model(32)
        .with_layers(1)
        .init::<B>(&device);
    let cfg = variant.projector_config(16, 3, 32, 3, 1);
    let prompt = PromptIds::for_variant(variant, &d.tok).unwrap();
    assert_eq!(prompt.before, vec![d.tok.bos_id().unwrap()]);
    assert!(
        PrefixModel::new(variant, &cfg, plain.clone(), prompt.clone(), &device).is_err(),
        "an LLM without cross-attention is refused"
    );
    let llm = plain.with_cross_attention(7).unwrap();
    B::seed(&device, 1);
    let m = PrefixModel::new(variant, &cfg, llm, prompt, &device).unwrap();
    assert_eq!(
        m.prefix_len(),
        1,
        "only the start token precedes the report"
    );
    let counts = m.param_counts();
    assert_eq!(counts.frozen, 0);
    assert_eq!(
        counts.trainable,
        m.projector.num_params() + Module::num_params(&m.llm)
    );

    // The latent reaches the loss only through the cross-attention.
    let refs: Vec<&EncodedExample> = d.valid.iter().collect();
    let batch = TokenBatch::<B>::from_examples(&refs, 0, &device);
    let loss =
        |m: &PrefixModel<B, TinyLm<B>>, b: &TokenBatch<B>| prefix_loss(m, b).into_scalar() as f64;
    let mut zeroed = TokenBatch::<B>::from_examples(&refs, 0, &device);
    zeroed.inputs = zeroed.inputs.map(|t| t.zeros_like());
    assert!((loss(&m, &batch) - loss(&m, &zeroed)).abs() > 1e-5);

    let cross = |m: &PrefixModel<B, TinyLm<B>>| weights(m.llm.blocks[0].cross.as_ref().unwrap());
    let (cross0, wte0, attn0, proj0) = (
        cross(&m),
        weights(&m.llm.wte),
        weights(&m.llm.blocks[0].c_attn),
        weights(&m.projector),
    );
    let tmp = tempfile::tempdir().unwrap();
    let config = TrainConfig {
        epochs: 3,
        batch_size: 4,
        lr: 3e-3,
        weight_decay: variant.weight_decay(),
        ..Default::default()
    };
    let out = train(
        m,
        &d.train,
        &d.valid,
        &config,
        tmp.path(),
        &mut Silent,
        &device,
    )
    .unwrap();
    let t = &out.model;
    assert_ne!(cross(t), cross0, "cross-attention unchanged");
    assert_ne!(weights(&t.llm.wte), wte0, "LLM embeddings unchanged");
    assert_ne!(
        weights(&t.llm.blocks[0].c_attn),
        attn0,
        "LLM self-attention unchanged"
    );
    assert_ne!(weights(&t.projector), proj0, "projection unchanged");
    let v = &out.state.val_losses;
    assert!(v[2] < v[0], "validation loss did not fall: {v:?}");
    // The checkpoint holds the LLM (with its cross-attention) beside the projector.
    let last = RunDir(tmp.path().to_path_buf()).last();
    assert!(last.join("llm.mpk").is_file());

    let inner = burn::module::AutodiffModule::valid(t);
    let reports = generate_reports(&inner, &d.valid, &d.tok, 6, 4, &device).unwrap();
    let first = &d.valid[0];
    let inputs = TokenBatch::<Flex>::from_examples(&[first], 0, &device)
        .inputs
        .unwrap();
    let (prefix, encoder) = inner.condition(inputs);
    let llm = inner.conditioned_llm(encoder.unwrap()).unwrap();
    let mut embeds = prefix;
    let mut ids = Vec::new();
    for _ in 0..6 {
        use rad3d_llm::CausalLm;
        let logits = llm.forward(embeds.clone(), None, None);
        let t_len = logits.dims()[1];
        let last: Vec<f32> = logits.narrow(1, t_len - 1, 1).into_data().to_vec().unwrap();
        let next = (0..last.len())
            .max_by(|&a, &b| last[a].total_cmp(&last[b]))
            .unwrap() as u32;
        if next == d.tok.eos_id() {
            break;
        }
        ids.push(next);
        let next_t = Tensor::<Flex, 2, burn::tensor::Int>::from_data(
            burn::tensor::TensorData::new(vec![next as i64], [1, 1]),
            &device,
        );
        embeds = Tensor::cat(vec![embeds, llm.embed(next_t)], 1);
    }
    assert!(!ids.is_empty(), "the trained decoder writes a report");
    assert_eq!(reports[0].generated, d.tok.decode(&ids));
}
