//! Parity with HF transformers on every model folder that carries a `fixture.safetensors`:
//! the shared fixtures (`$RAD3D_FIXTURES/llm/*`, and the BioGPTs under
//! `$RAD3D_FIXTURES/biogpt/*`) and the extra configurations generated
//! by `scripts/reference/llm_fixtures.py` into `tests/data/*` (other head counts, GQA
//! ratios, untied heads, biases, rope variants, vocab sizes, dtypes, shards, padding).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::module::Module;
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_llm::{CausalLm, Decoding, EncoderConditioned, GenerationConfig, Llm, generate};
use safetensors::{Dtype, SafeTensors};

type B = Flex;

/// A fixture file's tensors: name → (shape, values as f64).
struct Fixture(HashMap<String, (Vec<usize>, Vec<f64>)>);

impl Fixture {
    fn read(path: &Path) -> Self {
        let bytes = std::fs::read(path).unwrap();
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut map = HashMap::new();
        for (name, view) in st.tensors() {
            let d = view.data();
            let values: Vec<f64> = match view.dtype() {
                Dtype::F32 => d
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
                    .collect(),
                Dtype::I64 => d
                    .chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
                    .collect(),
                Dtype::BOOL | Dtype::U8 => d.iter().map(|&b| b as f64).collect(),
                other => panic!("{}: unexpected dtype {other:?} for {name}", path.display()),
            };
            map.insert(name, (view.shape().to_vec(), values));
        }
        Self(map)
    }
    fn get(&self, name: &str) -> Option<&(Vec<usize>, Vec<f64>)> {
        self.0.get(name)
    }
    fn ids(&self, name: &str) -> Option<Vec<Vec<u32>>> {
        self.get(name).map(|(s, v)| {
            v.chunks(s[1])
                .map(|r| r.iter().map(|&x| x as u32).collect())
                .collect()
        })
    }
    fn tensor3(&self, name: &str) -> Option<Tensor<B, 3>> {
        self.get(name).map(|(s, v)| {
            let data: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            Tensor::from_data(
                TensorData::new(data, [s[0], s[1], s[2]]),
                &Default::default(),
            )
        })
    }
}

fn ids_tensor(ids: &[Vec<u32>]) -> Tensor<B, 2, Int> {
    let data: Vec<i64> = ids.iter().flatten().map(|&t| t as i64).collect();
    Tensor::from_data(
        TensorData::new(data, [ids.len(), ids[0].len()]),
        &Default::default(),
    )
}

fn max_abs_diff(got: Tensor<B, 3>, want: &(Vec<usize>, Vec<f64>)) -> f64 {
    assert_eq!(got.dims().to_vec(), want.0, "shape");
    let got: Vec<f32> = got.into_data().to_vec().unwrap();
    got.iter()
        .zip(&want.1)
        .map(|(a, b)| (*a as f64 - b).abs())
        .fold(0.0, f64::max)
}

const TOL: f64 = 1e-4;

/// Checks one model folder against its fixture; returns the largest logit difference.
fn check_model_dir(dir: &Path) -> f64 {
    let name = dir.display().to_string();
    let device = Default::default();
    let model = Llm::<B>::from_hf_dir(dir, &device).unwrap_or_else(|e| panic!("{name}: {e}"));
    let fx = Fixture::read(&dir.join("fixture.safetensors"));
    let mut worst = 0.0f64;
    let ids = fx.ids("input_ids").expect("input_ids");

    // Full forward from token embeddings.
    let logits = model.forward(model.embed(ids_tensor(&ids)), None, None);
    let d = max_abs_diff(logits, fx.get("logits").unwrap());
    assert!(d <= TOL, "{name}: logits max |Δ| {d}");
    worst = worst.max(d);

    // Prefix fed as embeddings.
    if let (Some(prefix), Some(want)) = (fx.tensor3("prefix"), fx.get("logits_with_prefix")) {
        let embeds = Tensor::cat(vec![prefix.clone(), model.embed(ids_tensor(&ids))], 1);
        let d = max_abs_diff(model.forward(embeds.clone(), None, None), want);
        assert!(d <= TOL, "{name}: logits_with_prefix max |Δ| {d}");
        worst = worst.max(d);

        // Cached incremental decoding equals the full forward: 5 positions, then one at a time.
        let t = embeds.dims()[1];
        let mut cache = model.new_cache(1, t, &device);
        let mut parts = vec![model.forward(embeds.clone().narrow(1, 0, 5), None, Some(&mut cache))];
        for i in 5..t {
            parts.push(model.forward(embeds.clone().narrow(1, i, 1), None, Some(&mut cache)));
        }
        let d = max_abs_diff(Tensor::cat(parts, 1), want);
        assert!(d <= TOL, "{name}: cached decoding max |Δ| {d}");
    }

    // Greedy generation, ids exact.
    if let Some(want) = fx.ids("greedy_ids") {
        let new = want[0].len() - ids[0].len();
        let out = generate(&model, None, &ids, &GenerationConfig::greedy(new)).unwrap();
        let mut got = ids[0].clone();
        got.extend(&out[0]);
        assert_eq!(got, want[0], "{name}: greedy ids");
    }

    // Left-padded batch: logits at real positions and batched greedy per row.
    if let (Some(pids), Some(pmask)) = (fx.ids("padded_ids"), fx.ids("padded_mask")) {
        let mask: Vec<bool> = pmask.iter().flatten().map(|&m| m == 1).collect();
        let mask_t = Tensor::<B, 2, burn::tensor::Bool>::from_data(
            TensorData::new(mask.clone(), [pids.len(), pids[0].len()]),
            &device,
        );
        let logits = model.forward(model.embed(ids_tensor(&pids)), Some(mask_t), None);
        let want = fx.get("padded_logits").unwrap();
        let got: Vec<f32> = logits.into_data().to_vec().unwrap();
        let v = want.0[2];
        let mut d = 0.0f64;
        for (pos, &real) in mask.iter().enumerate() {
            if real {
                for j in 0..v {
                    d = d.max((got[pos * v + j] as f64 - want.1[pos * v + j]).abs());
                }
            }
        }
        assert!(d <= TOL, "{name}: padded logits max |Δ| {d}");
        worst = worst.max(d);
        if let Some(want) = fx.ids("padded_greedy") {
            let prompts: Vec<Vec<u32>> = pids
                .iter()
                .zip(&pmask)
                .map(|(r, m)| {
                    r.iter()
                        .zip(m)
                        .filter(|(_, m)| **m == 1)
                        .map(|(t, _)| *t)
                        .collect()
                })
                .collect();
            let new = want[0].len() - pids[0].len();
            let cfg = GenerationConfig::greedy(new).with_eos(vec![]);
            let out = generate(&model, None, &prompts, &cfg).unwrap();
            for (row, o) in out.iter().enumerate() {
                assert_eq!(
                    o[..],
                    want[row][pids[0].len()..],
                    "{name}: padded greedy row {row}"
                );
            }
        }
    }

    // Beam search and processors, against transformers' generate with the same settings.
    for (key, cfg) in reference_generation_configs() {
        if let Some(want) = fx.ids(key) {
            let out = generate(&model, None, &ids, &cfg).unwrap();
            let mut got = ids[0].clone();
            got.extend(&out[0]);
            // HF pads finished sequences of a batch; a single sequence ends where it stops.
            assert_eq!(got, want[0], "{name}: {key} ({cfg:?})");
        }
    }
    worst
}

/// The decoding settings `scripts/reference/llm_fixtures.py` runs through transformers.
fn reference_generation_configs() -> Vec<(&'static str, GenerationConfig)> {
    vec![
        ("beam_r2gengpt", GenerationConfig::r2gengpt(10)),
        (
            "beam_ngram",
            GenerationConfig {
                decoding: Decoding::Beam {
                    num_beams: 4,
                    length_penalty: 1.0,
                    early_stopping: true,
                },
                ..GenerationConfig::greedy(10)
            }
            .with_no_repeat_ngram_size(2)
            .with_min_new_tokens(4),
        ),
        (
            "greedy_penalty",
            GenerationConfig::greedy(10)
                .with_repetition_penalty(1.5)
                .with_no_repeat_ngram_size(3),
        ),
    ]
}

fn model_dirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.join("config.json").is_file()
                && (p.join("model.safetensors").is_file()
                    || p.join("model.safetensors.index.json").is_file()
                    || p.join("pytorch_model.bin").is_file())
                && p.join("fixture.safetensors").is_file()
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn shared_llm_fixtures_match_transformers() {
    let Some(root) = rad3d_testutil::require(rad3d_testutil::fixtures(), "shared fixtures") else {
        return;
    };
    for family in ["llm", "biogpt"] {
        assert!(
            !model_dirs(&root.join(family)).is_empty(),
            "no model fixture under {}",
            root.join(family).display()
        );
    }
    let dirs = [
        model_dirs(&root.join("llm")),
        model_dirs(&root.join("biogpt")),
    ]
    .concat();
    for dir in dirs {
        let d = check_model_dir(&dir);
        eprintln!("{}: max |Δ| {d:.2e}", dir.display());
    }
}

#[test]
fn generated_configurations_match_transformers() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dirs = model_dirs(&root);
    assert!(
        dirs.len() >= 5,
        "expected the generated fixtures in {}",
        root.display()
    );
    for dir in dirs {
        let d = check_model_dir(&dir);
        eprintln!("{}: max |Δ| {d:.2e}", dir.display());
    }
}

/// The tiny BioGPT saved as `pytorch_model.bin` (written here in torch.save's layout, its
/// tied `output_projection.weight` sharing the embeddings' storage as torch writes it)
/// loads through the checked `.pt` reader and matches transformers like the safetensors.
#[test]
fn biogpt_pytorch_model_bin_matches_transformers() {
    let Some(src) = rad3d_testutil::require(
        rad3d_testutil::fixtures().join("biogpt/tiny-biogpt"),
        "BioGPT fixture",
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for file in ["config.json", "fixture.safetensors"] {
        std::fs::copy(src.join(file), dir.path().join(file)).unwrap();
    }
    let weights = Fixture::read(&src.join("model.safetensors"));
    let mut names: Vec<&String> = weights.0.keys().collect();
    names.sort();
    let storages: Vec<Vec<f32>> = names
        .iter()
        .map(|n| weights.0[*n].1.iter().map(|&v| v as f32).collect())
        .collect();
    let mut tensors: Vec<(&str, &[usize], usize)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), weights.0[*n].0.as_slice(), i))
        .collect();
    let embed = names
        .iter()
        .position(|n| *n == "biogpt.embed_tokens.weight")
        .unwrap();
    tensors.push((
        "output_projection.weight",
        &weights.0[names[embed]].0,
        embed,
    ));
    rad3d_testutil::torch_save::save_state_dict(
        &dir.path().join("pytorch_model.bin"),
        "pytorch_model",
        &tensors,
        &storages,
    );
    let d = check_model_dir(dir.path());
    eprintln!("pytorch_model.bin: max |Δ| {d:.2e}");
}

/// GPT-2 with cross-attention (`add_cross_attention=True`) against transformers, on the
/// tiny random model `scripts/reference/gpt2_cross_attention.py` writes: logits with
/// three and with one encoder state, with an embedding prefix, and greedy and R2GenGPT
/// beam decoding whose rows must keep their own encoder states.
#[test]
fn gpt2_cross_attention_matches_transformers() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gpt2-cross-attention");
    let fx = Fixture::read(&dir.join("cross_fixture.safetensors"));
    let llm = Llm::<B>::from_hf_dir(&dir, &Default::default()).unwrap();
    assert!(llm.has_cross_attention());
    let ids = fx.ids("input_ids").unwrap();
    let encoder = fx.tensor3("encoder").unwrap();
    let model = EncoderConditioned::new(llm.clone(), encoder.clone()).unwrap();
    let embeds = model.embed(ids_tensor(&ids));
    let d = max_abs_diff(
        model.forward(embeds.clone(), None, None),
        fx.get("logits").unwrap(),
    );
    assert!(d <= TOL, "logits: max |Δ| {d:.2e}");
    let prefixed = Tensor::cat(vec![fx.tensor3("prefix").unwrap(), embeds.clone()], 1);
    let dp = max_abs_diff(
        model.forward(prefixed, None, None),
        fx.get("logits_with_prefix").unwrap(),
    );
    assert!(dp <= TOL, "logits with prefix: max |Δ| {dp:.2e}");
    let one = EncoderConditioned::new(llm.clone(), fx.tensor3("encoder1").unwrap()).unwrap();
    let d1 = max_abs_diff(
        one.forward(embeds, None, None),
        fx.get("logits_encoder1").unwrap(),
    );
    assert!(d1 <= TOL, "logits with one encoder state: max |Δ| {d1:.2e}");
    eprintln!("cross-attention logits: max |Δ| {d:.2e}, prefix {dp:.2e}, one state {d1:.2e}");

    let continuation = |name: &str| -> Vec<Vec<u32>> {
        let rows = fx.ids(name).unwrap();
        rows.iter().map(|r| r[ids[0].len()..].to_vec()).collect()
    };
    let greedy = GenerationConfig::greedy(8).with_eos(vec![]);
    assert_eq!(
        generate(&model, None, &ids, &greedy).unwrap(),
        continuation("greedy_ids")
    );
    let beam = GenerationConfig::r2gengpt(8).with_eos(vec![]);
    assert_eq!(
        generate(&model, None, &ids, &beam).unwrap(),
        continuation("beam3_ids")
    );

    // Without encoder states the model still runs (HF skips cross-attention then), and
    // the states change the logits.
    let plain = llm.forward(model.embed(ids_tensor(&ids)), None, None);
    assert!(max_abs_diff(plain, fx.get("logits").unwrap()) > 1e-2);
}

/// A pretrained GPT-2 without cross-attention gains it as HF's
/// `from_pretrained(…, add_cross_attention=True)` does; a config that declares it needs
/// its weights; LLaMA has none to add.
#[test]
fn cross_attention_is_added_or_required() {
    let device = Default::default();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gpt2-2heads");
    let llm = Llm::<B>::from_hf_dir(&dir, &device).unwrap();
    assert!(!llm.has_cross_attention());
    let before = CausalLm::hidden_size(&llm);
    let crossed = llm.with_cross_attention(3).unwrap();
    assert!(crossed.has_cross_attention());
    let Llm::Gpt2(g) = &crossed else {
        panic!("GPT-2 expected")
    };
    assert!(g.config.add_cross_attention);
    let d = before;
    let added: usize = g
        .blocks
        .iter()
        .map(|b| b.cross.as_ref().unwrap().num_params())
        .sum();
    // ln_cross_attn 2D, q_attn D²+D, c_attn 2D²+2D, c_proj D²+D.
    assert_eq!(added, g.blocks.len() * (4 * d * d + 6 * d));
    assert!(
        EncoderConditioned::new(crossed, Tensor::<B, 3>::zeros([1, 1, d + 1], &device)).is_err()
    );
    let no_cross = Llm::<B>::from_hf_dir(&dir, &device).unwrap();
    assert!(EncoderConditioned::new(no_cross, Tensor::<B, 3>::zeros([1, 1, d], &device)).is_err());

    let mut config = rad3d_llm::ModelConfig::from_hf_file(&dir.join("config.json")).unwrap();
    if let rad3d_llm::ModelConfig::Gpt2(c) = &mut config {
        c.add_cross_attention = true;
    }
    let mut source = rad3d_llm::SafetensorsSource::open_dir(&dir).unwrap();
    let err = Llm::<B>::from_tensors(&config, &mut source, &device).unwrap_err();
    assert!(err.to_string().contains("crossattention"), "{err}");
    let llama = rad3d_llm::LlamaConfig::new(32, 16, 32, 1, 2, 2, 8)
        .init::<B>(0, &device)
        .map(Llm::from)
        .unwrap();
    assert!(llama.with_cross_attention(0).is_err());
}
