//! BERT-family encoder (BERT, RoBERTa, MiniLM, …) in Burn, loaded from a Hugging Face
//! model directory (`config.json` + `model.safetensors`), returning every layer's
//! hidden states as BERTScore needs them.
//!
//! The architecture is the post-LayerNorm encoder of `transformers`' `BertModel` /
//! `RobertaModel`: word + position + token-type embeddings → LayerNorm, then N layers of
//! (self-attention with a padding mask → dense → residual → LayerNorm) and
//! (dense → GELU → dense → residual → LayerNorm). The pooler is not used.

use std::path::{Path, PathBuf};

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::tensor::activation::{gelu, gelu_approximate, softmax};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData, bf16, f16};
use safetensors::{Dtype, SafeTensors};
use serde::Deserialize;

use crate::error::MetricsError;

/// Hyper-parameters of a BERT-family encoder (the fields of HF `config.json` it uses).
#[derive(Config, Debug)]
pub struct BertConfig {
    /// Vocabulary size (rows of the word embedding).
    pub vocab_size: usize,
    /// Model width.
    pub hidden_size: usize,
    /// Number of encoder layers.
    pub num_hidden_layers: usize,
    /// Number of attention heads.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// Rows of the position embedding.
    pub max_position_embeddings: usize,
    /// Rows of the token-type embedding.
    #[config(default = 2)]
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    #[config(default = 1e-12)]
    pub layer_norm_eps: f64,
    /// Id of the padding token.
    #[config(default = 0)]
    pub pad_token_id: usize,
    /// First position id: 0 for BERT, `pad_token_id + 1` for RoBERTa (whose position ids
    /// are counted from after the padding index).
    #[config(default = 0)]
    pub position_offset: usize,
    /// Whether GELU is the tanh approximation (`gelu_new`, `gelu_pytorch_tanh`) instead of
    /// the exact erf form (`gelu`).
    #[config(default = false)]
    pub approximate_gelu: bool,
}

/// The subset of HF `config.json` read for BERT-family encoders.
#[derive(Deserialize)]
struct HfBertConfig {
    model_type: Option<String>,
    vocab_size: usize,
    hidden_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    intermediate_size: usize,
    max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    type_vocab_size: usize,
    #[serde(default = "default_eps")]
    layer_norm_eps: f64,
    #[serde(default)]
    pad_token_id: Option<usize>,
    #[serde(default)]
    hidden_act: Option<String>,
    #[serde(default)]
    position_embedding_type: Option<String>,
}

fn default_type_vocab() -> usize {
    2
}

fn default_eps() -> f64 {
    1e-12
}

impl BertConfig {
    /// Reads an HF `config.json` of a BERT or RoBERTa model.
    pub fn from_hf_json(path: impl AsRef<Path>) -> crate::Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| MetricsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let model_err = |reason: String| MetricsError::Model {
            path: path.to_path_buf(),
            reason,
        };
        let hf: HfBertConfig = serde_json::from_str(&text)
            .map_err(|e| model_err(format!("not a BERT config: {e}")))?;
        let model_type = hf.model_type.unwrap_or_else(|| "bert".into());
        let roberta = matches!(model_type.as_str(), "roberta" | "xlm-roberta" | "camembert");
        if !roberta && !matches!(model_type.as_str(), "bert" | "electra") {
            return Err(model_err(format!(
                "model_type `{model_type}` is not BERT-family"
            )));
        }
        let approximate_gelu = match hf.hidden_act.as_deref().unwrap_or("gelu") {
            "gelu" => false,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => true,
            other => return Err(model_err(format!("hidden_act `{other}` is not supported"))),
        };
        if let Some(kind) = hf.position_embedding_type.as_deref()
            && kind != "absolute"
        {
            return Err(model_err(format!(
                "position_embedding_type `{kind}` is not supported (only `absolute`)"
            )));
        }
        if hf.hidden_size == 0 || hf.num_attention_heads == 0 {
            return Err(model_err(
                "hidden_size and num_attention_heads must be > 0".into(),
            ));
        }
        if !hf.hidden_size.is_multiple_of(hf.num_attention_heads) {
            return Err(model_err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                hf.hidden_size, hf.num_attention_heads
            )));
        }
        let pad = hf.pad_token_id.unwrap_or(if roberta { 1 } else { 0 });
        Ok(BertConfig::new(
            hf.vocab_size,
            hf.hidden_size,
            hf.num_hidden_layers,
            hf.num_attention_heads,
            hf.intermediate_size,
            hf.max_position_embeddings,
        )
        .with_type_vocab_size(hf.type_vocab_size)
        .with_layer_norm_eps(hf.layer_norm_eps)
        .with_pad_token_id(pad)
        .with_position_offset(if roberta { pad + 1 } else { 0 })
        .with_approximate_gelu(approximate_gelu))
    }

    /// Longest input (special tokens included) the position table allows.
    pub fn max_input_len(&self) -> usize {
        self.max_position_embeddings
            .saturating_sub(self.position_offset)
    }

    /// Builds an encoder with randomly initialised weights.
    pub fn init<B: Backend>(&self, device: &B::Device) -> BertModel<B> {
        let d = self.hidden_size;
        let norm = || {
            LayerNormConfig::new(d)
                .with_epsilon(self.layer_norm_eps)
                .init(device)
        };
        let embeddings = BertEmbeddings {
            word: EmbeddingConfig::new(self.vocab_size, d).init(device),
            position: EmbeddingConfig::new(self.max_position_embeddings, d).init(device),
            token_type: EmbeddingConfig::new(self.type_vocab_size.max(1), d).init(device),
            norm: norm(),
            position_offset: self.position_offset,
        };
        let layers = (0..self.num_hidden_layers)
            .map(|_| BertLayer {
                query: LinearConfig::new(d, d).init(device),
                key: LinearConfig::new(d, d).init(device),
                value: LinearConfig::new(d, d).init(device),
                attention_out: LinearConfig::new(d, d).init(device),
                attention_norm: norm(),
                intermediate: LinearConfig::new(d, self.intermediate_size).init(device),
                output: LinearConfig::new(self.intermediate_size, d).init(device),
                output_norm: norm(),
                n_heads: self.num_attention_heads,
                approximate_gelu: self.approximate_gelu,
            })
            .collect();
        BertModel { embeddings, layers }
    }
}

/// Word + position + token-type embeddings followed by LayerNorm.
#[derive(Module, Debug)]
pub struct BertEmbeddings<B: Backend> {
    word: Embedding<B>,
    position: Embedding<B>,
    token_type: Embedding<B>,
    norm: LayerNorm<B>,
    position_offset: usize,
}

impl<B: Backend> BertEmbeddings<B> {
    /// Embeds token ids (token type 0 everywhere, as BERTScore feeds the encoder).
    ///
    /// # Shapes
    /// - ids: `[batch, seq]` → `[batch, seq, hidden]`
    pub fn forward(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
        let [batch, seq] = ids.dims();
        let device = ids.device();
        let start = self.position_offset as i64;
        let positions = Tensor::<B, 1, Int>::arange(start..start + seq as i64, &device)
            .reshape([1, seq])
            .expand([batch, seq]);
        let types = Tensor::<B, 2, Int>::zeros([batch, seq], &device);
        let x = self.word.forward(ids)
            + self.position.forward(positions)
            + self.token_type.forward(types);
        self.norm.forward(x)
    }
}

/// One post-LayerNorm encoder layer.
#[derive(Module, Debug)]
pub struct BertLayer<B: Backend> {
    query: Linear<B>,
    key: Linear<B>,
    value: Linear<B>,
    attention_out: Linear<B>,
    attention_norm: LayerNorm<B>,
    intermediate: Linear<B>,
    output: Linear<B>,
    output_norm: LayerNorm<B>,
    n_heads: usize,
    approximate_gelu: bool,
}

impl<B: Backend> BertLayer<B> {
    /// Applies the layer.
    ///
    /// # Shapes
    /// - x: `[batch, seq, hidden]`
    /// - mask_bias: `[batch, 1, 1, seq]`, 0 for real tokens and a large negative number
    ///   for padding (added to the attention scores)
    /// - output: `[batch, seq, hidden]`
    pub fn forward(&self, x: Tensor<B, 3>, mask_bias: Tensor<B, 4>) -> Tensor<B, 3> {
        let [batch, seq, hidden] = x.dims();
        let head_dim = hidden / self.n_heads;
        let heads = |t: Tensor<B, 3>| {
            t.reshape([batch, seq, self.n_heads, head_dim])
                .swap_dims(1, 2)
        };
        let q = heads(self.query.forward(x.clone()));
        let k = heads(self.key.forward(x.clone()));
        let v = heads(self.value.forward(x.clone()));
        let scores = q.matmul(k.swap_dims(2, 3)) / (head_dim as f64).sqrt() + mask_bias;
        let context = softmax(scores, 3)
            .matmul(v)
            .swap_dims(1, 2)
            .reshape([batch, seq, hidden]);
        let x = self
            .attention_norm
            .forward(self.attention_out.forward(context) + x);
        let h = self.intermediate.forward(x.clone());
        let h = if self.approximate_gelu {
            gelu_approximate(h)
        } else {
            gelu(h)
        };
        self.output_norm.forward(self.output.forward(h) + x)
    }
}

/// A BERT-family encoder without pooler.
#[derive(Module, Debug)]
pub struct BertModel<B: Backend> {
    embeddings: BertEmbeddings<B>,
    layers: Vec<BertLayer<B>>,
}

impl<B: Backend> BertModel<B> {
    /// Number of encoder layers.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Hidden states of the embedding output and of every layer (`num_layers() + 1`
    /// tensors; index `l` is what HF calls `hidden_states[l]`).
    ///
    /// # Shapes
    /// - ids: `[batch, seq]`; attention_mask: `[batch, seq]`, 1 for tokens, 0 for padding
    /// - each output: `[batch, seq, hidden]`
    pub fn forward(
        &self,
        ids: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2>,
    ) -> Vec<Tensor<B, 3>> {
        self.forward_layers(ids, attention_mask, self.layers.len())
    }

    /// Like [`forward`](Self::forward) but stops after `n_layers` layers (BERTScore needs
    /// one layer only, so the rest is not computed).
    ///
    /// # Panics
    /// If `n_layers > num_layers()`.
    pub fn forward_layers(
        &self,
        ids: Tensor<B, 2, Int>,
        attention_mask: Tensor<B, 2>,
        n_layers: usize,
    ) -> Vec<Tensor<B, 3>> {
        assert!(
            n_layers <= self.layers.len(),
            "layer {n_layers} > {}",
            self.layers.len()
        );
        let [batch, seq] = attention_mask.dims();
        // Padding keys get a large negative score so that softmax gives them weight 0,
        // as HF's extended attention mask does.
        let mask_bias = (attention_mask - 1.0)
            .mul_scalar(1e9)
            .reshape([batch, 1, 1, seq]);
        let mut x = self.embeddings.forward(ids);
        let mut states = Vec::with_capacity(n_layers + 1);
        states.push(x.clone());
        for layer in &self.layers[..n_layers] {
            x = layer.forward(x, mask_bias.clone());
            states.push(x.clone());
        }
        states
    }

    /// Loads `config.json` and `model.safetensors` from an HF model directory.
    pub fn load(dir: impl AsRef<Path>, device: &B::Device) -> crate::Result<(Self, BertConfig)> {
        let dir = dir.as_ref();
        let config = BertConfig::from_hf_json(dir.join("config.json"))?;
        let model = Self::load_safetensors(&config, dir.join("model.safetensors"), device)?;
        Ok((model, config))
    }

    /// Loads weights stored under HF names (`embeddings.…`, `encoder.layer.N.…`, with or
    /// without a `bert.`/`roberta.` prefix; `LayerNorm.gamma/beta` accepted for
    /// `weight/bias`). Every tensor is checked against `config`'s shapes.
    pub fn load_safetensors(
        config: &BertConfig,
        path: impl AsRef<Path>,
        device: &B::Device,
    ) -> crate::Result<Self> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| MetricsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| MetricsError::Model {
            path: path.to_path_buf(),
            reason: format!("not a safetensors file: {e}"),
        })?;
        let w = Weights::new(path, &st)?;
        let d = config.hidden_size;
        let mut model = config.init::<B>(device);
        let e = &mut model.embeddings;
        e.word.weight = Param::from_tensor(w.get(
            "embeddings.word_embeddings.weight",
            [config.vocab_size, d],
            device,
        )?);
        e.position.weight = Param::from_tensor(w.get(
            "embeddings.position_embeddings.weight",
            [config.max_position_embeddings, d],
            device,
        )?);
        e.token_type.weight = Param::from_tensor(w.get(
            "embeddings.token_type_embeddings.weight",
            [config.type_vocab_size.max(1), d],
            device,
        )?);
        w.layer_norm(&mut e.norm, "embeddings.LayerNorm", d, device)?;
        for (i, layer) in model.layers.iter_mut().enumerate() {
            let p = format!("encoder.layer.{i}");
            w.linear(
                &mut layer.query,
                &format!("{p}.attention.self.query"),
                d,
                d,
                device,
            )?;
            w.linear(
                &mut layer.key,
                &format!("{p}.attention.self.key"),
                d,
                d,
                device,
            )?;
            w.linear(
                &mut layer.value,
                &format!("{p}.attention.self.value"),
                d,
                d,
                device,
            )?;
            w.linear(
                &mut layer.attention_out,
                &format!("{p}.attention.output.dense"),
                d,
                d,
                device,
            )?;
            w.layer_norm(
                &mut layer.attention_norm,
                &format!("{p}.attention.output.LayerNorm"),
                d,
                device,
            )?;
            let f = config.intermediate_size;
            w.linear(
                &mut layer.intermediate,
                &format!("{p}.intermediate.dense"),
                d,
                f,
                device,
            )?;
            w.linear(
                &mut layer.output,
                &format!("{p}.output.dense"),
                f,
                d,
                device,
            )?;
            w.layer_norm(
                &mut layer.output_norm,
                &format!("{p}.output.LayerNorm"),
                d,
                device,
            )?;
        }
        Ok(model)
    }
}

/// Named tensors of one safetensors file, read as f32.
struct Weights<'a> {
    path: PathBuf,
    st: &'a SafeTensors<'a>,
    /// `bert.`, `roberta.`, … when the checkpoint was saved from a task model.
    prefix: String,
}

impl<'a> Weights<'a> {
    fn new(path: &Path, st: &'a SafeTensors<'a>) -> crate::Result<Self> {
        let anchor = "embeddings.word_embeddings.weight";
        let prefix = st
            .names()
            .into_iter()
            .filter_map(|n| n.strip_suffix(anchor))
            .min_by_key(|p| p.len())
            .map(str::to_string)
            .ok_or_else(|| MetricsError::Tensor {
                path: path.to_path_buf(),
                tensor: anchor.into(),
                reason: "missing: not a BERT-family checkpoint".into(),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            st,
            prefix,
        })
    }

    fn err(&self, tensor: &str, reason: String) -> MetricsError {
        MetricsError::Tensor {
            path: self.path.clone(),
            tensor: tensor.into(),
            reason,
        }
    }

    /// The tensor `name` (after the prefix) as f32, checked to have `shape`.
    fn get<B: Backend, const D: usize>(
        &self,
        name: &str,
        shape: [usize; D],
        device: &B::Device,
    ) -> crate::Result<Tensor<B, D>> {
        let full = format!("{}{name}", self.prefix);
        let view = self
            .st
            .tensor(&full)
            .map_err(|_| self.err(&full, "missing".into()))?;
        if view.shape() != shape {
            return Err(self.err(
                &full,
                format!("shape {:?}, expected {:?}", view.shape(), shape),
            ));
        }
        let raw = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::F16 => raw
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            Dtype::BF16 => raw
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
            other => return Err(self.err(&full, format!("dtype {other:?} is not a float type"))),
        };
        Ok(Tensor::from_data(TensorData::new(values, shape), device))
    }

    /// The tensor `name`, trying the legacy name `legacy` when it is absent.
    fn get_or<B: Backend, const D: usize>(
        &self,
        name: &str,
        legacy: &str,
        shape: [usize; D],
        device: &B::Device,
    ) -> crate::Result<Tensor<B, D>> {
        let full = format!("{}{name}", self.prefix);
        if self.st.tensor(&full).is_err()
            && self.st.tensor(&format!("{}{legacy}", self.prefix)).is_ok()
        {
            self.get(legacy, shape, device)
        } else {
            self.get(name, shape, device)
        }
    }

    /// Fills an HF `nn.Linear` (weight `[out, in]`, stored transposed in Burn).
    fn linear<B: Backend>(
        &self,
        linear: &mut Linear<B>,
        name: &str,
        d_in: usize,
        d_out: usize,
        device: &B::Device,
    ) -> crate::Result<()> {
        let weight = self.get::<B, 2>(&format!("{name}.weight"), [d_out, d_in], device)?;
        linear.weight = Param::from_tensor(weight.transpose());
        linear.bias = Some(Param::from_tensor(self.get(
            &format!("{name}.bias"),
            [d_out],
            device,
        )?));
        Ok(())
    }

    /// Fills a LayerNorm (`weight`/`bias`, or the TF-era `gamma`/`beta`).
    fn layer_norm<B: Backend>(
        &self,
        norm: &mut LayerNorm<B>,
        name: &str,
        d: usize,
        device: &B::Device,
    ) -> crate::Result<()> {
        let gamma = self.get_or(
            &format!("{name}.weight"),
            &format!("{name}.gamma"),
            [d],
            device,
        )?;
        let beta = self.get_or(
            &format!("{name}.bias"),
            &format!("{name}.beta"),
            [d],
            device,
        )?;
        norm.gamma = Param::from_tensor(gamma);
        norm.beta = Some(Param::from_tensor(beta));
        Ok(())
    }
}
