//! A real pretrained model from GGUF: SmolLM2-135M-Instruct (Q4_1, token embedding Q8_0),
//! fetched by `scripts/fetch-assets.sh` into `target/assets/smollm2/`, checked against
//! `$RAD3D_FIXTURES/llm/smollm2/fixture.safetensors` (transformers' dequantized f32
//! forward of the same file): exact dequantization, logits, greedy ids, tokenizer.

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use burn::tensor::{Int, Tensor, TensorData};
use rad3d_llm::gguf::{GgufFile, load_llama_gguf, tokenizer_from_metadata};
use rad3d_llm::{CausalLm, GenerationConfig, generate};
use safetensors::{Dtype, SafeTensors};

type B = Flex;

const PROMPT: &str = "The chest CT shows";
const GREEDY_TEXT: &str =
    "The chest CT shows a large chest cavity with a large chest wall. The chest CT shows a large";

/// Logits tolerance: dequantization is exact, so only f32 summation order differs from
/// transformers (measured max |Δ| = 6.5e-5 on logits of magnitude ~20).
const LOGITS_TOL: f64 = 1e-3;

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// Skips (returns `None`) when `path` is missing, except under CI where it fails.
fn required(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(
        !ci(),
        "{what} missing at {} (run scripts/fetch-assets.sh)",
        path.display()
    );
    eprintln!("skipping: {what} not found at {}", path.display());
    None
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn gguf_path() -> Option<PathBuf> {
    let assets = std::env::var("RAD3D_ASSETS")
        .map(|a| repo_root().join(a))
        .unwrap_or_else(|_| repo_root().join("target/assets"));
    required(
        assets.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
        "SmolLM2 GGUF asset",
    )
}

fn fixture_dir() -> Option<PathBuf> {
    let root = std::env::var("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"));
    required(root.join("llm/smollm2"), "SmolLM2 fixture")
}

/// `(shape, values)` of a fixture tensor (f32 or i64).
fn fixture_tensor(dir: &Path, name: &str) -> (Vec<usize>, Vec<f64>) {
    let bytes = std::fs::read(dir.join("fixture.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(name).unwrap();
    let d = view.data();
    let values = match view.dtype() {
        Dtype::F32 => d
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        Dtype::I64 => d
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as f64)
            .collect(),
        other => panic!("fixture {name}: unexpected dtype {other:?}"),
    };
    (view.shape().to_vec(), values)
}

fn ids(values: &[f64]) -> Vec<u32> {
    values.iter().map(|&v| v as u32).collect()
}

fn digest(values: &[f32]) -> u64 {
    values.iter().enumerate().fold(0u64, |acc, (i, v)| {
        acc.wrapping_add((v.to_bits() as u64).wrapping_mul(2 * i as u64 + 1))
    })
}

#[test]
fn dequantization_matches_gguf_py_exactly() {
    let Some(path) = gguf_path() else { return };
    let f = GgufFile::open(&path).unwrap();
    assert_eq!(f.version(), 3);
    assert_eq!(f.tensors().len(), 272);
    // Digests of the f32 bits from scripts/reference/gguf_dequant_reference.py: equal
    // digests over every tensor mean max |Δ| = 0 against gguf.quants.dequantize.
    for (name, want) in [
        ("token_embd.weight", 0xee6fa1c00885e840u64),   // Q8_0
        ("blk.0.attn_q.weight", 0x9308b2b13a947200),    // Q4_1
        ("blk.0.attn_norm.weight", 0x00026436637b0000), // F32
        ("output_norm.weight", 0x000144868d320000),
    ] {
        let (_, v) = f.dequantize(name).unwrap();
        assert_eq!(digest(&v), want, "{name}");
    }
    let mut total = 0u64;
    for t in f.tensors() {
        let (shape, v) = f.dequantize(&t.name).unwrap();
        assert_eq!(shape.iter().product::<usize>(), v.len());
        total = total.wrapping_add(digest(&v));
    }
    assert_eq!(
        total, 0x0f8e3908c94cd240,
        "sum of per-tensor digests over all 272 tensors"
    );
}

#[test]
fn tokenizer_from_metadata_matches_the_model_tokenizer() {
    let (Some(path), Some(fix)) = (gguf_path(), fixture_dir()) else {
        return;
    };
    let f = GgufFile::open(&path).unwrap();
    let ours = tokenizer_from_metadata(&f).unwrap();
    let (_, input_ids) = fixture_tensor(&fix, "input_ids");
    assert_eq!(
        ours.encode(PROMPT, false).unwrap().get_ids(),
        ids(&input_ids).as_slice()
    );

    let reference = tokenizers::Tokenizer::from_file(fix.join("tokenizer.json")).unwrap();
    for text in [
        PROMPT,
        "The capital of France is",
        "No acute cardiopulmonary abnormality.  Mild bibasilar atelectasis;\n\tstable 5 mm nodule (RUL).",
        "<|im_start|>user\nHello, SmolLM!<|im_end|>\n<|im_start|>assistant\n",
        "naïve café — ümlaut, emoji 🫁, CJK 肺, tabs\t\tand trailing spaces   ",
        "it's we'll they've I'm you'd",
    ] {
        let a = ours.encode(text, false).unwrap();
        let b = reference.encode(text, false).unwrap();
        assert_eq!(a.get_ids(), b.get_ids(), "{text:?}");
        assert_eq!(ours.decode(a.get_ids(), false).unwrap(), text);
    }
    // llama.cpp's `smollm` rule splits every digit (as SmolLM2's own tokenizer does),
    // whereas transformers' re-export of the GGUF tokenizer keeps digit runs together.
    let digits = ours.encode("2024", false).unwrap();
    assert_eq!(digits.get_tokens(), &["2", "0", "2", "4"]);
    // Control tokens stay whole.
    assert_eq!(ours.encode("<|im_end|>", false).unwrap().get_ids(), &[2]);
}

#[test]
fn smollm2_logits_and_greedy_match_transformers() {
    let (Some(path), Some(fix)) = (gguf_path(), fixture_dir()) else {
        return;
    };
    let device = Default::default();
    let (model, tokenizer) = load_llama_gguf::<B>(&path, &device).unwrap();
    assert_eq!(model.vocab_size(), 49152);

    let (_, input_ids) = fixture_tensor(&fix, "input_ids");
    let prompt = ids(&input_ids);
    assert_eq!(tokenizer.encode(PROMPT, false).unwrap(), prompt);
    assert_eq!(tokenizer.decode(&prompt, false).unwrap(), PROMPT);

    // Logits of the prompt.
    let (lshape, want) = fixture_tensor(&fix, "logits");
    let t = prompt.len();
    let input = Tensor::<B, 2, Int>::from_data(
        TensorData::new(prompt.iter().map(|&i| i as i64).collect::<Vec<_>>(), [1, t]),
        &device,
    );
    let logits = model.forward(model.embed(input), None, None);
    assert_eq!(logits.dims().to_vec(), lshape);
    let got: Vec<f32> = logits.into_data().to_vec().unwrap();
    let max_diff = got
        .iter()
        .zip(&want)
        .map(|(&g, &w)| (g as f64 - w).abs())
        .fold(0.0, f64::max);
    eprintln!("SmolLM2 GGUF logits: max |Δ| = {max_diff:.3e} vs transformers");
    assert!(
        max_diff < LOGITS_TOL,
        "logits max |Δ| {max_diff} ≥ {LOGITS_TOL}"
    );

    // Greedy: all 20 tokens (prompt + 16 new) as transformers.
    let (_, greedy) = fixture_tensor(&fix, "greedy_ids");
    let greedy = ids(&greedy);
    let out = generate(
        &model,
        None,
        std::slice::from_ref(&prompt),
        &GenerationConfig::greedy(16),
    )
    .unwrap();
    let all: Vec<u32> = prompt.iter().chain(&out[0]).copied().collect();
    assert_eq!(all, greedy);
    assert_eq!(tokenizer.decode(&all, false).unwrap(), GREEDY_TEXT);

    let france = tokenizer.encode("The capital of France is", false).unwrap();
    let out = generate(&model, None, &[france], &GenerationConfig::greedy(3)).unwrap();
    let text = tokenizer.decode(&out[0], false).unwrap();
    assert!(text.starts_with(" Paris."), "continuation {text:?}");
}
