//! BioGPT beyond logit parity (tests/parity.rs covers that): its tokenizer against
//! `BioGptTokenizer`'s own outputs (`tokenizer_cases.json` of every folder under
//! `$RAD3D_FIXTURES/biogpt/`), and bad input — config fields, tensors, vocabulary and
//! merges — refused with typed errors that name the file and the culprit.

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use rad3d_llm::{
    BioGptConfig, CausalLm, HostTensor, Llm, LlmError, MemorySource, ModelConfig,
    SafetensorsSource, TensorSource, Tokenizer, biogpt_from_tensors,
};

type B = Flex;

/// The BioGPT fixture folders (the shared `tiny-biogpt` and any other placed beside it).
fn biogpt_dirs() -> Vec<PathBuf> {
    let Some(root) =
        rad3d_testutil::require(rad3d_testutil::fixtures().join("biogpt"), "BioGPT fixtures")
    else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("tokenizer_cases.json").is_file())
        .collect();
    dirs.sort();
    assert!(
        !dirs.is_empty(),
        "no tokenizer_cases.json under the BioGPT fixtures"
    );
    dirs
}

fn tiny() -> Option<PathBuf> {
    rad3d_testutil::require(
        rad3d_testutil::fixtures().join("biogpt/tiny-biogpt"),
        "BioGPT fixture",
    )
}

#[test]
fn tokenizer_cases_are_exact() {
    for dir in biogpt_dirs() {
        let tok = Tokenizer::from_dir(&dir).unwrap();
        assert!(
            tok.biogpt().is_some(),
            "{}: not read as BioGPT",
            dir.display()
        );
        let cases: Vec<serde_json::Value> = serde_json::from_str(
            &std::fs::read_to_string(dir.join("tokenizer_cases.json")).unwrap(),
        )
        .unwrap();
        assert!(!cases.is_empty());
        for case in cases {
            let text = case["text"].as_str().unwrap();
            let want: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
            let ids = tok.encode(text, true).unwrap();
            assert_eq!(ids, want, "{}: ids of {text:?}", dir.display());
            // `</s>` starts every sequence; without special tokens it is not added.
            assert_eq!(ids[0], 2);
            assert_eq!(tok.encode(text, false).unwrap(), want[1..]);
            let decoded = tok.decode(&want, true).unwrap();
            assert_eq!(decoded, case["decoded"].as_str().unwrap(), "{text:?}");
        }
        let model = Llm::<B>::from_hf_dir(&dir, &Default::default()).unwrap();
        tok.check_vocab(model.vocab_size()).unwrap();
        // The sequence start the pipeline prepends is the `</s>` the tokenizer prepends.
        assert_eq!(model.special_tokens().bos, Some(2));
    }
}

#[test]
fn special_tokens_in_text_and_decoding_without_skipping() {
    let Some(dir) = tiny() else { return };
    let tok = Tokenizer::from_dir(&dir).unwrap();
    // Written special tokens are those tokens; the text around them is tokenized apart.
    let ids = tok.encode("a </s> b <unk> c", true).unwrap();
    assert_eq!(ids, [2, 37, 2, 39, 3, 41]);
    assert_eq!(
        tok.decode(&[2, 3, 34, 2, 3, 0, 1], false).unwrap(),
        "</s><unk>T</s><unk><s><pad>"
    );
    assert_eq!(tok.decode(&[2, 3, 34, 2, 3, 0, 1], true).unwrap(), "T");
    // Ids outside the vocabulary read as `<unk>`, as BioGptTokenizer reads them.
    assert_eq!(tok.decode(&[500], true).unwrap(), "<unk>");
    assert_eq!(tok.id_to_token(2).as_deref(), Some("</s>"));
    assert_eq!(tok.token_to_id("<unk>"), Some(3));
}

#[test]
fn a_folder_without_tokenizer_config_is_known_by_its_model_type() {
    let Some(dir) = tiny() else { return };
    let copy = edited(&dir, "config.json", str::to_string);
    std::fs::remove_file(copy.path().join("tokenizer_config.json")).unwrap();
    let tok = Tokenizer::from_dir(copy.path()).unwrap();
    assert!(tok.biogpt().is_some());
    assert_eq!(tok.encode("No effusion.", true).unwrap()[0], 2);
    // Named otherwise, the same two files are read as GPT-2's byte-level BPE.
    let other = edited(&dir, "tokenizer_config.json", |t| {
        t.replace("BioGptTokenizer", "GPT2Tokenizer")
    });
    assert!(
        Tokenizer::from_dir(other.path())
            .unwrap()
            .biogpt()
            .is_none()
    );
}

/// A copy of the tiny BioGPT's folder with `edit` applied to the file `name`.
fn edited(dir: &Path, name: &str, edit: impl FnOnce(&str) -> String) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), out.path().join(entry.file_name())).unwrap();
    }
    let path = out.path().join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, edit(&text)).unwrap();
    out
}

fn with_field(field: &'static str, value: serde_json::Value) -> impl FnOnce(&str) -> String {
    move |text| {
        let mut json: serde_json::Value = serde_json::from_str(text).unwrap();
        json[field] = value;
        json.to_string()
    }
}

#[test]
fn bad_config_fields_are_named() {
    let Some(dir) = tiny() else { return };
    for (field, value) in [
        ("num_attention_heads", serde_json::json!(5)),
        ("hidden_act", serde_json::json!("relu")),
        ("num_hidden_layers", serde_json::json!(7)),
        ("vocab_size", serde_json::json!(0)),
        ("pad_token_id", serde_json::json!(999)),
    ] {
        let copy = edited(&dir, "config.json", with_field(field, value.clone()));
        let err = Llm::<B>::from_hf_dir(copy.path(), &Default::default()).unwrap_err();
        assert!(
            matches!(&err, LlmError::Config { field: f, .. } if f == field),
            "{field}={value}: {err:?}"
        );
        // Named with the file it was found in (the weights, for a layer count they lack).
        let text = err.to_string();
        assert!(text.contains(&copy.path().display().to_string()), "{text}");
    }
    // A value of the wrong type names its field too.
    let copy = edited(
        &dir,
        "config.json",
        with_field("hidden_size", "wide".into()),
    );
    let err = Llm::<B>::from_hf_dir(copy.path(), &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hidden_size") && err.contains("BioGPT"),
        "{err}"
    );
}

/// The tiny BioGPT's tensors in memory.
fn tensors(dir: &Path) -> MemorySource {
    let mut file = SafetensorsSource::open_dir(dir).unwrap();
    let mut memory = MemorySource::new(dir.join("model.safetensors"));
    for name in file.names() {
        let t = file.take(&name).unwrap().unwrap();
        memory.insert(name, t);
    }
    memory
}

fn config(dir: &Path) -> BioGptConfig {
    match ModelConfig::from_hf_file(&dir.join("config.json")).unwrap() {
        ModelConfig::BioGpt(c) => c,
        other => panic!("not a BioGPT: {other:?}"),
    }
}

#[test]
fn missing_misshaped_and_unexpected_tensors_are_named() {
    let Some(dir) = tiny() else { return };
    let cfg = config(&dir);
    let device = Default::default();
    let build = |source: &mut MemorySource| {
        biogpt_from_tensors::<B>(&cfg, source, &device)
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };

    let mut source = tensors(&dir);
    source.take("biogpt.layers.1.fc2.bias").unwrap();
    let err = build(&mut source);
    assert!(
        err.contains("biogpt.layers.1.fc2.bias") && err.contains("model.safetensors"),
        "{err}"
    );

    // A position table without BioGPT's two offset rows.
    let mut source = tensors(&dir);
    let d = cfg.hidden_size;
    let rows = cfg.max_position_embeddings;
    source.insert(
        "biogpt.embed_positions.weight",
        HostTensor::new(vec![rows, d], vec![0.0; rows * d]),
    );
    let err = build(&mut source);
    assert!(
        err.contains("biogpt.embed_positions.weight") && err.contains(&(rows + 2).to_string()),
        "{err}"
    );

    let mut source = tensors(&dir);
    source.insert("biogpt.extra.weight", HostTensor::new(vec![1], vec![0.0]));
    let err = build(&mut source);
    assert!(err.contains("biogpt.extra.weight"), "{err}");

    // Untied, the head is required; tied, a stored head is ignored.
    let untied = BioGptConfig {
        tie_word_embeddings: false,
        ..cfg.clone()
    };
    let err = biogpt_from_tensors::<B>(&untied, &mut tensors(&dir), &device)
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(err.contains("output_projection.weight"), "{err}");
    let mut source = tensors(&dir);
    let embed = source.take("biogpt.embed_tokens.weight").unwrap().unwrap();
    source.insert("biogpt.embed_tokens.weight", embed.clone());
    source.insert("output_projection.weight", embed);
    biogpt_from_tensors::<B>(&cfg, &mut source, &device).unwrap();
}

#[test]
fn bad_vocabulary_and_merges_are_named() {
    let Some(dir) = tiny() else { return };
    /// File, its edit, and a word the error must contain.
    type Case = (&'static str, fn(&str) -> String, &'static str);
    let cases: [Case; 5] = [
        ("vocab.json", |_| "[1, 2]".into(), "object"),
        (
            "vocab.json",
            |t| t.replace("\"<unk>\"", "\"<unknown>\""),
            "<unk>",
        ),
        (
            "vocab.json",
            |t| t.replace("\"(\": 4", "\"(\": 5"),
            "share id 5",
        ),
        ("vocab.json", |t| t.replace("\"(\": 4", "\"(\": -4"), "`(`"),
        (
            "merges.txt",
            |t| t.replacen("\n", "\nlonely\n", 1),
            "line 2",
        ),
    ];
    for (file, edit, needle) in cases {
        let copy = edited(&dir, file, edit);
        let err = Tokenizer::from_dir(copy.path()).unwrap_err();
        assert!(matches!(err, LlmError::Tokenizer { .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(file) && text.contains(needle),
            "{needle}: {text}"
        );
    }
    // A vocabulary larger than the model's embedding table is refused against the model.
    let tok = Tokenizer::from_dir(&dir).unwrap();
    let err = tok.check_vocab(100).unwrap_err();
    assert!(
        matches!(
            err,
            LlmError::VocabMismatch {
                model_vocab: 100,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_biogpt_of_another_size_decodes_the_same_with_and_without_cache() {
    // Sizes unlike the fixture's (odd layer count, 3 heads, untied head, no scaling).
    let cfg = BioGptConfig::new(36, 3, 3, 52)
        .with_vocab_size(90)
        .with_max_position_embeddings(20)
        .with_tie_word_embeddings(false)
        .with_scale_embedding(false);
    let device = Default::default();
    let model: Llm<B> = ModelConfig::BioGpt(cfg.clone()).init(3, &device).unwrap();
    let ids = burn::tensor::Tensor::<B, 2, burn::tensor::Int>::from_data(
        burn::tensor::TensorData::new(
            (0..9).map(|i| (i * 7 % 90) as i64).collect::<Vec<_>>(),
            [1, 9],
        ),
        &device,
    );
    let embeds = model.embed(ids);
    let full = model.forward(embeds.clone(), None, None);
    let mut cache = model.new_cache(1, 9, &device);
    let mut parts = vec![model.forward(embeds.clone().narrow(1, 0, 4), None, Some(&mut cache))];
    for i in 4..9 {
        parts.push(model.forward(embeds.clone().narrow(1, i, 1), None, Some(&mut cache)));
    }
    burn::tensor::Tensor::cat(parts, 1)
        .into_data()
        .assert_approx_eq::<f32>(&full.into_data(), burn::tensor::Tolerance::absolute(1e-5));
    // The config survives the round trip a saved pipeline makes.
    let json = serde_json::to_string(&model.config()).unwrap();
    assert!(json.contains("\"family\":\"biogpt\""), "{json}");
    assert_eq!(
        serde_json::from_str::<ModelConfig>(&json).unwrap(),
        ModelConfig::BioGpt(cfg)
    );
}
