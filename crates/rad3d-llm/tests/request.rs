//! The `generate` example's code path ([`load_model`] + [`run_request`]) against
//! transformers' greedy ids: the shared tiny fixtures (HF directories, token-id prompts)
//! and SmolLM2-135M from GGUF (text prompt through its tokenizer).

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use rad3d_llm::{
    CausalLm, GenerateRequest, GenerationConfig, Prompt, generate, load_model, run_request,
    synthetic_prefix,
};
use safetensors::{Dtype, SafeTensors};

type B = Flex;

fn ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// `path` if it exists; `None` after a notice when missing outside CI.
fn required(path: PathBuf, what: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    assert!(!ci(), "{what} missing at {}", path.display());
    eprintln!("skipping: {what} not found at {}", path.display());
    None
}

fn fixtures() -> PathBuf {
    std::env::var("RAD3D_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"))
}

/// An i64 fixture tensor as rows of ids.
fn fixture_ids(dir: &Path, name: &str) -> Vec<Vec<u32>> {
    let bytes = std::fs::read(dir.join("fixture.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let view = st.tensor(name).unwrap();
    assert_eq!(view.dtype(), Dtype::I64, "{name}");
    let cols = view.shape()[1];
    let ids: Vec<u32> = view
        .data()
        .chunks_exact(8)
        .map(|b| i64::from_le_bytes(b.try_into().unwrap()) as u32)
        .collect();
    ids.chunks(cols).map(<[u32]>::to_vec).collect()
}

#[test]
fn tiny_fixtures_greedy_ids_match_transformers() {
    let device = Default::default();
    for name in ["tiny-gpt2", "tiny-llama"] {
        let Some(dir) = required(fixtures().join("llm").join(name), "LLM fixture") else {
            return;
        };
        let (model, tokenizer) = load_model::<B>(&dir, &device).unwrap();
        assert!(tokenizer.is_none(), "{name} ships no tokenizer");
        let input = fixture_ids(&dir, "input_ids").remove(0);
        let want = fixture_ids(&dir, "greedy_ids").remove(0);
        let new = want.len() - input.len();
        let request = GenerateRequest::greedy(Prompt::Ids(input.clone()), new);
        let out = run_request(&model, None, &request, &device).unwrap();
        assert_eq!(out.prompt_ids, input);
        assert_eq!(out.ids.len(), 1);
        assert_eq!(out.ids[0][..], want[input.len()..], "{name}: greedy ids");
        assert!(out.texts.is_none());
        assert_eq!(out.new_tokens(), new);
        assert!(out.seconds > 0.0 && out.first_token_seconds <= out.seconds);

        // A batch of 3 with a 4-row synthetic prefix: every row decodes like a single
        // `generate` call on the same prefix.
        let request = GenerateRequest {
            batch_size: 3,
            prefix_len: 4,
            config: GenerationConfig::greedy(6).with_eos(vec![]),
            ..request
        };
        let out = run_request(&model, None, &request, &device).unwrap();
        let prefix = synthetic_prefix::<B>(1, 4, model.hidden_size(), &device);
        let single = generate(
            &model,
            Some(prefix),
            std::slice::from_ref(&input),
            &request.config,
        )
        .unwrap();
        assert_eq!(
            out.ids,
            vec![single[0].clone(); 3],
            "{name}: batched prefix"
        );
        assert_eq!(out.new_tokens(), 18);

        // A text prompt needs a tokenizer.
        let err = run_request(
            &model,
            None,
            &GenerateRequest::greedy(Prompt::Text("hi".into()), 2),
            &device,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("tokenizer"), "{err}");
    }
}

#[test]
fn smollm2_gguf_text_prompt_matches_transformers() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let assets = std::env::var("RAD3D_ASSETS")
        .map(|a| repo.join(a))
        .unwrap_or_else(|_| repo.join("target/assets"));
    let (Some(gguf), Some(fix)) = (
        required(
            assets.join("smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
            "SmolLM2 GGUF asset (scripts/fetch-assets.sh)",
        ),
        required(fixtures().join("llm/smollm2"), "SmolLM2 fixture"),
    ) else {
        return;
    };
    let device = Default::default();
    let (model, tokenizer) = load_model::<B>(&gguf, &device).unwrap();
    let tokenizer = tokenizer.expect("GGUF carries its tokenizer");
    let want = fixture_ids(&fix, "greedy_ids").remove(0);
    let request = GenerateRequest::greedy(Prompt::Text("The chest CT shows".into()), 16);
    let out = run_request(&model, Some(&tokenizer), &request, &device).unwrap();
    assert_eq!(out.prompt_ids, want[..4]);
    assert_eq!(out.ids[0][..], want[4..]);
    assert_eq!(
        out.texts.unwrap()[0],
        " a large chest cavity with a large chest wall. The chest CT shows a large"
    );
}

#[test]
fn missing_model_path_is_an_error_naming_it() {
    let err = load_model::<B>("/nonexistent/model.gguf", &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
}
