//! Text generation from `[prefix embeddings ; prompt tokens]`: greedy, sampling and beam
//! search, batched, with a preallocated KV cache and per-sequence stopping.
//!
//! The prefix is run through the model once (prefill); each later step feeds only the
//! newly chosen tokens. Prompts of different lengths are left-padded (padding sits
//! before the prefix, masked, and takes no positions), as HF does.

mod beam;
mod config;
pub(crate) mod processors;

use burn::tensor::{Int, Tensor, TensorData, backend::Backend};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub use config::{Decoding, GenerationConfig};

use crate::cache::KvCache;
use crate::error::{LlmError, Result};
use crate::model::CausalLm;
use crate::tokenizer::Tokenizer;

/// Receives each token as it is chosen: `(sequence index, token id)`.
pub type TokenCallback<'a> = &'a mut dyn FnMut(usize, u32);

/// Generates continuations, one per sequence, and returns the new token ids of each
/// (an end-of-sequence token that stopped a sequence is included, as in HF).
///
/// `prefix` `[B, P, D]` (e.g. projected image features) is prepended to every prompt;
/// `prompts` holds `B` token-id lists (may be empty when a prefix is given, or omitted
/// entirely: `&[]`). Without a prefix, `B = prompts.len()`.
///
/// ```no_run
/// # use burn::backend::Flex;
/// # use rad3d_llm::{Llm, generate::{generate, GenerationConfig}};
/// # fn main() -> rad3d_llm::Result<()> {
/// let device = Default::default();
/// let model = Llm::<Flex>::from_hf_dir("SmolLM2-135M", &device)?;
/// let out = generate(&model, None, &[vec![504, 3458, 314]], &GenerationConfig::greedy(20))?;
/// # Ok(()) }
/// ```
pub fn generate<B: Backend, M: CausalLm<B>>(
    model: &M,
    prefix: Option<Tensor<B, 3>>,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
) -> Result<Vec<Vec<u32>>> {
    generate_streaming(model, prefix, prompts, config, None, None)
}

/// [`generate`] with an optional tokenizer (needed for stop strings) and an optional
/// callback receiving tokens as they are chosen. Beam search only knows its tokens at
/// the end, so there the callback sees the winning hypotheses once decoding is done.
pub fn generate_streaming<B: Backend, M: CausalLm<B>>(
    model: &M,
    prefix: Option<Tensor<B, 3>>,
    prompts: &[Vec<u32>],
    config: &GenerationConfig,
    tokenizer: Option<&Tokenizer>,
    on_token: Option<TokenCallback<'_>>,
) -> Result<Vec<Vec<u32>>> {
    config.validate()?;
    if !config.stop_strings.is_empty() && tokenizer.is_none() {
        return Err(LlmError::Generation("stop strings need a tokenizer".into()));
    }
    let input = Prepared::new(model, prefix, prompts)?;
    let eos = config
        .eos_token_ids
        .clone()
        .unwrap_or_else(|| model.special_tokens().eos);
    let prompts = input.prompts.clone();
    let steps = Steps {
        config,
        eos: &eos,
        tokenizer,
        prompts: &prompts,
    };
    match config.decoding {
        Decoding::Beam {
            num_beams,
            length_penalty,
            early_stopping,
        } => {
            let out = beam::beam_search(
                model,
                input,
                &steps,
                num_beams,
                length_penalty,
                early_stopping,
            )?;
            if let Some(cb) = on_token {
                for (row, seq) in out.iter().enumerate() {
                    seq.iter().for_each(|&t| cb(row, t));
                }
            }
            Ok(out)
        }
        _ => sample_loop(model, input, &steps, on_token),
    }
}

/// The model input of a generation call, built once.
pub(crate) struct Prepared<B: Backend> {
    /// `[B, T0, D]`: left padding, prefix, prompt.
    pub embeds: Tensor<B, 3>,
    /// `[B·T0]` real-token mask, `None` when nothing is padded.
    pub mask: Option<Vec<bool>>,
    /// Prompt ids per sequence (what the repetition processors see).
    pub prompts: Vec<Vec<u32>>,
    pub device: B::Device,
}

impl<B: Backend> Prepared<B> {
    fn new<M: CausalLm<B>>(
        model: &M,
        prefix: Option<Tensor<B, 3>>,
        prompts: &[Vec<u32>],
    ) -> Result<Self> {
        let device = match &prefix {
            Some(p) => p.device(),
            None => model
                .devices()
                .into_iter()
                .next()
                .ok_or_else(|| LlmError::Generation("model has no parameters".into()))?,
        };
        let batch = match &prefix {
            Some(p) => {
                let [b, _, d] = p.dims();
                if d != model.hidden_size() {
                    return Err(LlmError::Generation(format!(
                        "prefix width {d} differs from the model's hidden size {}",
                        model.hidden_size()
                    )));
                }
                if !prompts.is_empty() && prompts.len() != b {
                    return Err(LlmError::Generation(format!(
                        "{} prompts for a prefix batch of {b}",
                        prompts.len()
                    )));
                }
                b
            }
            None => {
                if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
                    return Err(LlmError::Generation(
                        "without a prefix every prompt needs a token".into(),
                    ));
                }
                prompts.len()
            }
        };
        if batch == 0 {
            return Err(LlmError::Generation("empty batch".into()));
        }
        let prompts: Vec<Vec<u32>> = if prompts.is_empty() {
            vec![Vec::new(); batch]
        } else {
            prompts.to_vec()
        };
        let vocab = model.vocab_size();
        if let Some(bad) = prompts.iter().flatten().find(|&&t| t as usize >= vocab) {
            return Err(LlmError::Generation(format!(
                "prompt token {bad} outside the vocabulary of {vocab}"
            )));
        }
        let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
        let p_len = prefix.as_ref().map_or(0, |p| p.dims()[1]);
        let pad = model.special_tokens().pad.unwrap_or(0);
        let ids = |v: Vec<u32>| {
            let n = v.len();
            let data: Vec<i64> = v.into_iter().map(i64::from).collect();
            Tensor::<B, 2, Int>::from_data(TensorData::new(data, [1, n]), &device)
        };
        let same_len = prompts.iter().all(|p| p.len() == longest);
        let embeds = if same_len {
            let mut parts = Vec::new();
            if let Some(p) = prefix {
                parts.push(p);
            }
            if longest > 0 {
                let data: Vec<i64> = prompts.iter().flatten().map(|&t| i64::from(t)).collect();
                let ids = Tensor::<B, 2, Int>::from_data(
                    TensorData::new(data, [batch, longest]),
                    &device,
                );
                parts.push(model.embed(ids));
            }
            Tensor::cat(parts, 1)
        } else {
            let rows = (0..batch)
                .map(|r| {
                    let mut parts = Vec::new();
                    let pads = longest - prompts[r].len();
                    if pads > 0 {
                        parts.push(model.embed(ids(vec![pad; pads])));
                    }
                    if let Some(p) = &prefix {
                        parts.push(p.clone().narrow(0, r, 1));
                    }
                    if !prompts[r].is_empty() {
                        parts.push(model.embed(ids(prompts[r].clone())));
                    }
                    Tensor::cat(parts, 1)
                })
                .collect();
            Tensor::cat(rows, 0)
        };
        let mask = (!same_len).then(|| {
            prompts
                .iter()
                .flat_map(|p| {
                    let pads = longest - p.len();
                    (0..pads)
                        .map(|_| false)
                        .chain((0..p_len + p.len()).map(|_| true))
                })
                .collect()
        });
        Ok(Self {
            embeds,
            mask,
            prompts,
            device,
        })
    }

    /// Length of the model input (padding, prefix and prompt).
    pub fn len(&self) -> usize {
        self.embeds.dims()[1]
    }
}

/// Settings shared by the decoding loops.
pub(crate) struct Steps<'a> {
    pub config: &'a GenerationConfig,
    pub eos: &'a [u32],
    pub tokenizer: Option<&'a Tokenizer>,
    pub prompts: &'a [Vec<u32>],
}

impl Steps<'_> {
    /// Applies the HF logits processors to one row of scores; `generated` are the new
    /// tokens so far of that sequence.
    pub fn process(&self, scores: &mut [f32], row: usize, generated: &[u32]) {
        let c = self.config;
        if c.repetition_penalty != 1.0 || c.no_repeat_ngram_size > 0 {
            let mut ids = self.prompts[row].clone();
            ids.extend_from_slice(generated);
            processors::repetition_penalty(scores, &ids, c.repetition_penalty);
            processors::no_repeat_ngram(scores, &ids, c.no_repeat_ngram_size);
        }
        if generated.len() < c.min_new_tokens {
            processors::suppress(scores, self.eos);
        }
    }

    /// Whether a sequence whose new tokens are `generated` must stop.
    pub fn stops(&self, generated: &[u32]) -> Result<bool> {
        let Some(&last) = generated.last() else {
            return Ok(false);
        };
        if self.eos.contains(&last) || generated.len() >= self.config.max_new_tokens {
            return Ok(true);
        }
        if let Some(tok) = self.tokenizer
            && !self.config.stop_strings.is_empty()
        {
            let text = tok.decode(generated, false)?;
            return Ok(self
                .config
                .stop_strings
                .iter()
                .any(|s| text.contains(s.as_str())));
        }
        Ok(false)
    }

    /// Cache slots one sequence needs; the longest row (which has no padding) must fit
    /// the model's positions.
    pub fn capacity<B: Backend, M: CausalLm<B>>(
        &self,
        model: &M,
        input_len: usize,
    ) -> Result<usize> {
        let cap = input_len + self.config.max_new_tokens;
        if cap > model.max_positions() {
            return Err(LlmError::Generation(format!(
                "{cap} positions (input {input_len} + {} new) exceed the model's {}",
                self.config.max_new_tokens,
                model.max_positions()
            )));
        }
        Ok(cap)
    }
}

/// Logits of the last position of each row, on the host: `[B][V]`.
pub(crate) fn last_logits<B: Backend, M: CausalLm<B>>(
    model: &M,
    hidden: Tensor<B, 3>,
) -> Vec<Vec<f32>> {
    let [b, t, _] = hidden.dims();
    let logits = model.logits(hidden.narrow(1, t - 1, 1));
    let v = logits.dims()[2];
    let data: Vec<f32> = logits
        .into_data()
        .convert::<f32>()
        .to_vec()
        .expect("f32 logits");
    debug_assert_eq!(data.len(), b * v);
    data.chunks(v).map(<[f32]>::to_vec).collect()
}

/// Feeds one token per cache row and returns the next logits.
pub(crate) fn step<B: Backend, M: CausalLm<B>>(
    model: &M,
    tokens: &[u32],
    cache: &mut KvCache<B>,
    device: &B::Device,
) -> Vec<Vec<f32>> {
    let data: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
    let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(data, [tokens.len(), 1]), device);
    let hidden = model.forward_hidden_host_mask(model.embed(ids), None, Some(cache));
    last_logits(model, hidden)
}

/// Greedy decoding and sampling: each row picks one token per step; rows that stop
/// are dropped from the cache so later steps compute only the live ones.
fn sample_loop<B: Backend, M: CausalLm<B>>(
    model: &M,
    input: Prepared<B>,
    steps: &Steps<'_>,
    mut on_token: Option<TokenCallback<'_>>,
) -> Result<Vec<Vec<u32>>> {
    let batch = input.prompts.len();
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); batch];
    if steps.config.max_new_tokens == 0 {
        return Ok(out);
    }
    let capacity = steps.capacity(model, input.len())?;
    let mut cache = model.new_cache(batch, capacity, &input.device);
    let hidden =
        model.forward_hidden_host_mask(input.embeds, input.mask.as_deref(), Some(&mut cache));
    let mut logits = last_logits(model, hidden);
    // live[i] = the sequence that cache row i belongs to.
    let mut live: Vec<usize> = (0..batch).collect();
    let mut rng = match steps.config.decoding {
        Decoding::Sample { seed, .. } => Some(StdRng::seed_from_u64(seed)),
        _ => None,
    };
    loop {
        let mut next = Vec::with_capacity(live.len());
        let mut keep = Vec::with_capacity(live.len());
        for (i, &seq) in live.iter().enumerate() {
            let scores = &mut logits[i];
            steps.process(scores, seq, &out[seq]);
            let token = match (&steps.config.decoding, rng.as_mut()) {
                (
                    Decoding::Sample {
                        temperature,
                        top_k,
                        top_p,
                        ..
                    },
                    Some(rng),
                ) => {
                    processors::temperature(scores, *temperature);
                    processors::top_k(scores, *top_k);
                    processors::top_p(scores, *top_p);
                    processors::sample(scores, rng)
                }
                _ => processors::argmax(scores),
            };
            out[seq].push(token);
            if let Some(cb) = on_token.as_mut() {
                cb(seq, token);
            }
            if !steps.stops(&out[seq])? {
                keep.push(i);
                next.push(token);
            }
        }
        if keep.is_empty() {
            return Ok(out);
        }
        if keep.len() < live.len() {
            cache.reorder(&keep, &input.device);
            live = keep.iter().map(|&i| live[i]).collect();
        }
        logits = step(model, &next, &mut cache, &input.device);
    }
}
