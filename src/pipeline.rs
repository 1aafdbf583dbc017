//! The whole method as one object: NIfTI → preprocessing → CT-ViT → anomaly classifier
//! → projector (any variant) → LLM → report, with the classifier's per-label
//! probabilities returned beside the text.
//!
//! A pipeline lives in a directory: `pipeline.json` ([`PipelineConfig`]) names the
//! preprocessing, the encoder checkpoint, the classifier head, the projector weights, the
//! LLM (HF directory, `.gguf`, or a Burn record with its config) and the generation
//! settings; relative paths are resolved against that directory.

use std::path::{Path, PathBuf};

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rad3d_classifier::{AnomalyClassifier, LabelSet, load_head, save_head};
use rad3d_ctvit::{CtVit, CtVitConfig, load_ctclip_checkpoint};
use rad3d_llm::{GenerationConfig, Llm};
pub use rad3d_model::LlmSpec;
use rad3d_model::{PrefixModel, PromptIds, ReportTokenizer, load_record, materialize, save_record};
use rad3d_projector::{ProjectorConfig, Variant};
use rad3d_volume::{Preprocess, Volume, read_nifti};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// File name of the pipeline description inside a pipeline directory.
pub const PIPELINE_FILE: &str = "pipeline.json";

/// Everything `pipeline.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineConfig {
    /// Preprocessing recipe.
    pub preprocess: Preprocess,
    /// Encoder architecture.
    pub encoder: CtVitConfig,
    /// Encoder weights: a CT-CLIP checkpoint (`.pt`, `.safetensors`, original key names)
    /// or a Burn record (`.mpk`).
    pub encoder_weights: PathBuf,
    /// Classifier head (safetensors with its label names).
    pub classifier_weights: PathBuf,
    /// The study variant (`"v1"`, `"v2"`, `"v3"`, `"linear"`, `"r2gengpt"`, `"finetuned"`).
    pub variant: Variant,
    /// Projector architecture.
    pub projector: ProjectorConfig,
    /// Projector weights (Burn record).
    pub projector_weights: PathBuf,
    /// The decoder.
    pub llm: LlmSpec,
    /// Most tokens generated per report.
    pub max_new_tokens: usize,
}

/// One generated report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The findings text.
    pub text: String,
    /// `(label, probability)` of every anomaly the classifier scores: the diagnostic
    /// prior that conditioned the report.
    pub finding_probabilities: Vec<(String, f32)>,
}

/// The assembled pipeline on backend `B`.
pub struct Pipeline<B: Backend> {
    config: PipelineConfig,
    preprocess: Preprocess,
    encoder: CtVit<B>,
    classifier: AnomalyClassifier<B>,
    labels: LabelSet,
    variant: Variant,
    model: PrefixModel<B, Llm<B>>,
    tokenizer: Box<dyn ReportTokenizer>,
    device: B::Device,
}

/// Loads encoder weights: a Burn record (`.mpk`) of `config`'s encoder, or a CT-CLIP
/// checkpoint (`.pt`, `.safetensors`) under its original key names.
pub fn load_encoder<B: Backend>(
    path: &Path,
    config: &CtVitConfig,
    device: &B::Device,
) -> Result<CtVit<B>> {
    Ok(if path.extension().is_some_and(|e| e == "mpk") {
        load_record(config.init::<B>(device), path, device)?
    } else {
        load_ctclip_checkpoint::<B>(path, config, device)?
    })
}

fn resolve(dir: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        dir.join(p)
    }
}

fn config_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

impl<B: Backend> Pipeline<B> {
    /// Assembles a pipeline from loaded parts; `config` must describe them (it is what
    /// [`save`](Self::save) writes).
    #[allow(clippy::too_many_arguments)]
    pub fn from_parts(
        config: PipelineConfig,
        encoder: CtVit<B>,
        classifier: AnomalyClassifier<B>,
        labels: LabelSet,
        model: PrefixModel<B, Llm<B>>,
        tokenizer: Box<dyn ReportTokenizer>,
        device: &B::Device,
    ) -> Result<Self> {
        let variant = config.variant;
        if labels.len() != classifier.n_labels() {
            return Err(config_err(
                Path::new(PIPELINE_FILE),
                format!(
                    "classifier has {} labels but {} label names were given",
                    classifier.n_labels(),
                    labels.len()
                ),
            ));
        }
        // Burn draws random weights on first read, separately for each clone: fix them now
        // so `save` writes exactly the weights this pipeline generates with.
        materialize(&encoder);
        materialize(&classifier);
        materialize(&model);
        Ok(Self {
            preprocess: config.preprocess.clone(),
            config,
            encoder,
            classifier,
            labels,
            variant,
            model,
            tokenizer,
            device: device.clone(),
        })
    }

    /// Loads a pipeline directory (see the module docs).
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> Result<Self> {
        let dir = dir.as_ref();
        let file = dir.join(PIPELINE_FILE);
        let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
            path: file.clone(),
            source,
        })?;
        let config: PipelineConfig =
            serde_json::from_str(&text).map_err(|e| config_err(&file, e.to_string()))?;
        config.preprocess.clone().validate()?;

        let encoder = load_encoder(
            &resolve(dir, &config.encoder_weights),
            &config.encoder,
            device,
        )?;
        let (classifier, labels) =
            load_head::<B>(resolve(dir, &config.classifier_weights), device)?;
        let labels = labels.ok_or_else(|| {
            config_err(
                &resolve(dir, &config.classifier_weights),
                "classifier file carries no label names",
            )
        })?;

        let (llm, tokenizer) = config.llm.load_for::<B>(dir, device, config.variant)?;
        let variant = config.variant;
        let prompt = PromptIds::for_variant(variant, tokenizer.as_ref())?;
        let mut model = PrefixModel::new(variant, &config.projector, llm, prompt, device)?;
        model.projector = load_record(
            model.projector,
            &resolve(dir, &config.projector_weights),
            device,
        )?;
        Self::from_parts(
            config, encoder, classifier, labels, model, tokenizer, device,
        )
    }

    /// Writes the pipeline to `dir`: encoder, classifier and projector weights and
    /// `pipeline.json` (LLM files are referenced, not copied, unless stored as records).
    pub fn save(&self, dir: impl AsRef<Path>) -> Result<()> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut config = self.config.clone();
        config.encoder_weights = PathBuf::from("encoder.mpk");
        save_record(&self.encoder, &dir.join(&config.encoder_weights))?;
        config.classifier_weights = PathBuf::from("classifier.safetensors");
        save_head(
            &self.classifier,
            &self.labels,
            dir.join(&config.classifier_weights),
        )?;
        config.projector_weights = PathBuf::from("projector.mpk");
        save_record(&self.model.projector, &dir.join(&config.projector_weights))?;
        match &mut config.llm {
            LlmSpec::Record {
                config: llm_config,
                weights,
                ..
            } => {
                // The architecture of the weights saved (the fine-tuned decoder's GPT-2
                // has gained cross-attention).
                *llm_config = self.model.llm.config();
                *weights = PathBuf::from("llm.mpk");
                save_record(&self.model.llm, &dir.join("llm.mpk"))?;
            }
            LlmSpec::Pretrained { weights, .. } => {
                if self.variant.llm_trainable() {
                    *weights = Some(PathBuf::from("llm.mpk"));
                    save_record(&self.model.llm, &dir.join("llm.mpk"))?;
                }
            }
        }
        let json = serde_json::to_string_pretty(&config).expect("plain data");
        Ok(rad3d_io::write_atomic(
            &dir.join(PIPELINE_FILE),
            json.as_bytes(),
        )?)
    }

    /// The description this pipeline was built from.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// The projector + LLM that writes the reports.
    pub fn model(&self) -> &PrefixModel<B, Llm<B>> {
        &self.model
    }

    /// The decoding settings reports are written with: the variant's
    /// ([`PrefixModel::decoding`]: R2GenGPT's beam search for that baseline, greedy
    /// otherwise), up to `max_new_tokens`.
    pub fn decoding(&self) -> GenerationConfig {
        self.model
            .decoding(self.config.max_new_tokens, self.tokenizer.eos_id())
    }

    /// The classifier's label names.
    pub fn labels(&self) -> &LabelSet {
        &self.labels
    }

    /// Reads and preprocesses one NIfTI file into the encoder's input `[1, 1, T, H, W]`.
    pub fn prepare(&self, path: impl AsRef<Path>) -> Result<Tensor<B, 5>> {
        self.prepare_volume(&read_nifti(path)?)
    }

    /// Preprocesses one volume (from any reader) into the encoder's input `[1, 1, T, H, W]`.
    pub fn prepare_volume(&self, volume: &Volume) -> Result<Tensor<B, 5>> {
        Ok(self
            .preprocess
            .apply(volume)?
            .into_tensor::<B>(&self.device))
    }

    /// Reports for volumes in Hounsfield units, whatever read them (NIfTI is one reader
    /// of many), encoded as one batch.
    pub fn generate(&self, volumes: &[Volume]) -> Result<Vec<Report>> {
        if volumes.is_empty() {
            return Ok(Vec::new());
        }
        let inputs = volumes
            .iter()
            .map(|v| self.prepare_volume(v))
            .collect::<Result<Vec<_>>>()?;
        let (latent, logits) = self.encode(Tensor::cat(inputs, 0));
        self.generate_from_latent_batch(latent, logits)
    }

    /// Encodes volumes `[B, 1, T, H, W]` into `(latent [B, D], logits [B, N])`.
    pub fn encode(&self, volumes: Tensor<B, 5>) -> (Tensor<B, 2>, Tensor<B, 2>) {
        let latent = self.encoder.forward(volumes).latent;
        let logits = self.classifier.forward(latent.clone());
        (latent, logits)
    }

    /// Reports for NIfTI files, encoded as one batch.
    pub fn generate_from_nifti_batch<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Vec<Report>> {
        let volumes = paths
            .iter()
            .map(|p| Ok(read_nifti(p)?))
            .collect::<Result<Vec<_>>>()?;
        self.generate(&volumes)
    }

    /// The report for one NIfTI file.
    pub fn generate_from_nifti(&self, path: impl AsRef<Path>) -> Result<Report> {
        let mut out = self.generate_from_nifti_batch(&[path])?;
        Ok(out.remove(0))
    }

    /// The report for one cached latent `[D]` and its classifier logits `[N]`.
    pub fn generate_from_latent(&self, latent: &[f32], logits: &[f32]) -> Result<Report> {
        let lat = Tensor::from_data(
            TensorData::new(latent.to_vec(), [1, latent.len()]),
            &self.device,
        );
        let log = Tensor::from_data(
            TensorData::new(logits.to_vec(), [1, logits.len()]),
            &self.device,
        );
        let mut out = self.generate_from_latent_batch(lat, log)?;
        Ok(out.remove(0))
    }

    /// Reports for latents `[B, D]` with classifier logits `[B, N]`.
    pub fn generate_from_latent_batch(
        &self,
        latent: Tensor<B, 2>,
        logits: Tensor<B, 2>,
    ) -> Result<Vec<Report>> {
        let [b, n] = logits.dims();
        if n != self.labels.len() || latent.dims()[0] != b {
            return Err(config_err(
                Path::new(PIPELINE_FILE),
                format!(
                    "latent {:?} and logits {:?} do not match the classifier's {} labels",
                    latent.dims(),
                    logits.dims(),
                    self.labels.len()
                ),
            ));
        }
        let probs: Vec<f32> = burn::tensor::activation::sigmoid(logits.clone())
            .into_data()
            .convert::<f32>()
            .to_vec()
            .map_err(|e| config_err(Path::new(PIPELINE_FILE), format!("{e:?}")))?;
        // Logits are a frozen prior: no gradient may reach the classifier.
        let input = self
            .variant
            .projector_input(latent, Some(logits.detach()))?;
        let ids =
            self.model
                .generate(input, self.config.max_new_tokens, self.tokenizer.eos_id())?;
        Ok(ids
            .iter()
            .zip(probs.chunks(n))
            .map(|(ids, p)| Report {
                text: self.tokenizer.decode(ids),
                finding_probabilities: self
                    .labels
                    .names()
                    .iter()
                    .cloned()
                    .zip(p.iter().copied())
                    .collect(),
            })
            .collect())
    }
}
