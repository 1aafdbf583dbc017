//! A config that declares more than its weights hold is refused before anything is sized
//! from it (a 1e9-layer config once allocated gigabytes before the missing-tensor check).

use std::path::{Path, PathBuf};

use burn::backend::Flex;
use rad3d_llm::{Llm, LlmError};

/// A copy of the model folder `name` with `edit` applied to its `config.json`.
fn edited(dir: &tempfile::TempDir, name: &str, edit: impl Fn(&mut serde_json::Value)) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    let dst = dir.path().join(name);
    std::fs::create_dir_all(&dst).unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dst.join(entry.file_name())).unwrap();
    }
    let path = dst.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut config);
    std::fs::write(&path, serde_json::to_string(&config).unwrap()).unwrap();
    dst
}

fn load_err(dir: &Path) -> LlmError {
    match Llm::<Flex>::from_hf_dir(dir, &Default::default()) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e) => e,
    }
}

#[test]
fn a_layer_count_the_weights_do_not_hold_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (model, field) in [
        ("llama-mha-untied", "num_hidden_layers"),
        ("gpt2-2heads", "n_layer"),
    ] {
        for layers in [1_000_000_000u64, 7] {
            let path = edited(&dir, model, |c| c[field] = layers.into());
            let err = load_err(&path);
            assert!(
                matches!(&err, LlmError::Config { field: f, .. } if f == field),
                "{model} {layers}: {err:?}"
            );
            let text = err.to_string();
            assert!(
                text.contains(&layers.to_string()) && text.contains(model),
                "{text}"
            );
        }
    }
}
