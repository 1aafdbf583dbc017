//! The training loss: mean next-token NLL over report tokens, and its fused form that
//! never records the `[rows, vocab]` logits in the autodiff graph.
//!
//! With a 49k-token vocabulary the logits of a batch are the largest tensor of a step
//! (4 × 128 × 49152 floats = 100 MB). Recording `log_softmax`, `gather` and the output
//! projection on them makes every one of those ops keep and walk a copy of that tensor
//! twice (forward and backward). The gradient of the NLL with respect to the logits is
//! known in closed form, `w · (softmax − onehot)`, so the fused loss computes it outside
//! the graph and hands the graph only `D`-wide products (see [`report_nll_fused`]).

use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{IndexingUpdateOp, Int, Tensor};
use rayon::prelude::*;

use rad3d_llm::CausalLm;

/// An LM's output projection: `logits = hidden · weight (+ bias)`.
#[derive(Debug, Clone)]
pub(crate) struct OutputHead<B: Backend> {
    /// `[D, V]` (for tied embeddings, a transposed view of them).
    pub(crate) weight: Tensor<B, 2>,
    /// `[V]`, if the head has one.
    pub(crate) bias: Option<Tensor<B, 1>>,
}

impl<B: Backend> OutputHead<B> {
    /// The head of `llm` (no family here has an output bias).
    fn of<L: CausalLm<B>>(llm: &L) -> Self {
        Self {
            weight: llm.output_weight(),
            bias: None,
        }
    }

    /// Logits of `hidden`.
    ///
    /// # Shapes
    /// - hidden: `[rows, D]` → `[rows, V]`
    pub(crate) fn forward(&self, hidden: Tensor<B, 2>) -> Tensor<B, 2> {
        let logits = hidden.matmul(self.weight.clone());
        match &self.bias {
            Some(b) => logits + b.clone().unsqueeze::<2>(),
            None => logits,
        }
    }
}

/// The LLM's final hidden states at the positions that predict report tokens: the
/// LLM reads `[prefix ; tokens[..T−1]]` (the last report token is never an input:
/// nothing follows it) and position `P − 1 + t` predicts token `t`.
///
/// # Shapes
/// - prefix: `[batch, P, D]`, tokens: `[batch, T]` → `[batch · T, D]`
fn report_hidden<B: Backend, L: CausalLm<B>>(
    llm: &L,
    prefix: Tensor<B, 3>,
    tokens: Tensor<B, 2, Int>,
) -> Tensor<B, 2> {
    let [batch, p, d] = prefix.dims();
    let [_, t] = tokens.dims();
    let inputs = llm.embed(tokens.slice([0..batch, 0..t - 1]));
    let hidden = llm.forward_hidden(Tensor::cat(vec![prefix, inputs], 1), None, None);
    // Only these positions reach the output projection: the prefix's other positions
    // predict nothing, and their logits would be a tenth of the step's largest product.
    hidden
        .slice([0..batch, p - 1..p - 1 + t, 0..d])
        .reshape([batch * t, d])
}

/// Per-row pieces of the NLL of `logits` `[rows, V]` at `targets` `[rows, 1]`:
/// `(nll, exp(logits − max), Σ exp(logits − max))`, shaped `[rows, 1]`, `[rows, V]`,
/// `[rows, 1]`. Shifting by the row maximum keeps `exp` finite for any logits.
fn row_nll<B: Backend>(
    logits: Tensor<B, 2>,
    targets: Tensor<B, 2, Int>,
) -> (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 2>) {
    let max = logits.clone().max_dim(1);
    let picked = logits.clone().gather(1, targets);
    let exp = (logits - max.clone()).exp();
    let sum = exp.clone().sum_dim(1);
    (max + sum.clone().log() - picked, exp, sum)
}

/// Each row's share of the mean, `mask / Σ mask`, `[rows, 1]`.
fn row_weights<B: Backend>(mask: Tensor<B, 2>) -> Tensor<B, 2> {
    let [batch, t] = mask.dims();
    let total = mask.clone().sum().reshape([1, 1]);
    mask.reshape([batch * t, 1]) / total
}

/// Mean next-token NLL over report tokens only, with teacher forcing on
/// `[prefix ; tokens]`: position `P − 1 + t` predicts token `t`; prefix positions and
/// padding (mask 0) contribute nothing.
///
/// Differentiable on any backend through the ordinary ops; training uses
/// [`report_nll_fused`], which gives the same value and gradients at a fraction of the
/// memory traffic.
///
/// # Shapes
/// - prefix: `[batch, P, D]`, tokens: `[batch, T]`, mask: `[batch, T]` → `[1]`
pub fn report_nll<B: Backend, L: CausalLm<B>>(
    llm: &L,
    prefix: Tensor<B, 3>,
    tokens: Tensor<B, 2, Int>,
    mask: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let hidden = report_hidden(llm, prefix, tokens.clone());
    nll_of_hidden(&OutputHead::of(llm), hidden, tokens, mask)
}

/// The loss of [`report_nll`] from the hidden states at report positions `[batch · T, D]`.
pub(crate) fn nll_of_hidden<B: Backend>(
    head: &OutputHead<B>,
    hidden: Tensor<B, 2>,
    tokens: Tensor<B, 2, Int>,
    mask: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let [batch, t] = tokens.dims();
    let (nll, _, _) = row_nll(head.forward(hidden), tokens.reshape([batch * t, 1]));
    (nll * row_weights(mask)).sum()
}

/// [`report_nll`] for training: the same value and the same gradients, with the output
/// projection and the softmax outside the autodiff graph.
///
/// The logits `z = h·W + b` and `g = ∂loss/∂z = w · (softmax(z) − onehot)` are computed
/// on the inner backend; the graph records only `Σ h ⊙ (g·Wᵀ)` (plus `Σ W ⊙ (hᵀ·g)` and
/// `Σ b ⊙ Σ_rows g` when the head trains), whose gradients are exactly the chain rule's,
/// and the returned scalar carries the loss's value.
///
/// # Shapes
/// - prefix: `[batch, P, D]`, tokens: `[batch, T]`, mask: `[batch, T]` → `[1]`
pub fn report_nll_fused<B: AutodiffBackend, L: CausalLm<B>>(
    llm: &L,
    prefix: Tensor<B, 3>,
    tokens: Tensor<B, 2, Int>,
    mask: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let hidden = report_hidden(llm, prefix, tokens.clone());
    fused_nll_of_hidden(OutputHead::of(llm), hidden, tokens, mask)
}

/// The loss of [`report_nll_fused`] from the hidden states at report positions
/// `[batch · T, D]`.
pub(crate) fn fused_nll_of_hidden<B: AutodiffBackend>(
    head: OutputHead<B>,
    hidden: Tensor<B, 2>,
    tokens: Tensor<B, 2, Int>,
    mask: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let h = hidden.clone().inner();
    let w = head.weight.clone().inner();
    let inner_head = OutputHead {
        weight: w.clone(),
        bias: head.bias.clone().map(Tensor::inner),
    };
    let weights = row_weights(mask.inner());
    let (loss, grad) = head_loss(&inner_head, h.clone(), tokens.inner(), weights);
    let mut surrogate = (hidden * Tensor::from_inner(grad.clone().matmul(w.transpose()))).sum();
    if head.weight.is_require_grad() {
        let dw = h.transpose().matmul(grad.clone());
        surrogate = surrogate + (head.weight * Tensor::from_inner(dw)).sum();
    }
    if let Some(bias) = head.bias.filter(|b| b.is_require_grad()) {
        let v = bias.dims()[0];
        let db = grad.sum_dim(0).reshape([v]);
        surrogate = surrogate + (bias * Tensor::from_inner(db)).sum();
    }
    with_value(surrogate, loss)
}

/// [`report_nll`] for training with a frozen LM (`frozen`: the LM outside the graph,
/// e.g. `llm.valid()`): the LM's forward and backward passes both run outside the
/// autodiff graph through [`CausalLm::forward_hidden_frozen`], and the graph records
/// only `Σ prefix ⊙ ∂L/∂prefix`. `None` when the LM has no frozen backward pass.
///
/// # Shapes
/// - prefix: `[batch, P, D]`, tokens: `[batch, T]`, mask: `[batch, T]` → `[1]`
pub fn report_nll_frozen<B: AutodiffBackend, L: CausalLm<B::InnerBackend>>(
    frozen: &L,
    prefix: Tensor<B, 3>,
    tokens: Tensor<B, 2, Int>,
    mask: Tensor<B, 2>,
) -> Option<Tensor<B, 1>> {
    let [batch, p, d] = prefix.dims();
    let [_, t] = tokens.dims();
    let device = prefix.device();
    let tokens = tokens.inner();
    let inputs = frozen.embed(tokens.clone().slice([0..batch, 0..t - 1]));
    let x = Tensor::cat(vec![prefix.clone().inner(), inputs], 1);
    let weights = row_weights(mask.inner()).reshape([batch, t]);
    // Rows are independent through a frozen LM. On the host the element-wise ops run on
    // one thread each, so rows go to the thread pool in as many groups as it has threads;
    // device backends get the batch whole.
    let groups = if rad3d_llm::host_backend::<B>(&device) {
        rayon::current_num_threads().clamp(1, batch)
    } else {
        1
    };
    let per = batch.div_ceil(groups);
    let work: Vec<_> = (0..batch)
        .step_by(per)
        .map(|start| {
            let rows = start..(start + per).min(batch);
            (
                frozen.clone(),
                x.clone().slice([rows.clone(), 0..p + t - 1, 0..d]),
                tokens.clone().slice([rows.clone(), 0..t]),
                weights.clone().slice([rows, 0..t]),
            )
        })
        .collect();
    let parts: Vec<Option<_>> = work
        .into_par_iter()
        .map(|(lm, x, tokens, weights)| frozen_rows(&lm, x, tokens, weights, p))
        .collect();
    let (losses, grads): (Vec<_>, Vec<_>) = parts
        .into_iter()
        .collect::<Option<Vec<_>>>()?
        .into_iter()
        .unzip();
    let loss = Tensor::cat(losses, 0).sum();
    let d_prefix = Tensor::cat(grads, 0);
    let surrogate = (prefix * Tensor::from_inner(d_prefix)).sum();
    Some(with_value(surrogate, loss))
}

/// One group of rows of [`report_nll_frozen`]: the rows' share of the loss (`[1]`) and
/// `∂L/∂prefix` `[rows, P, D]`, for LM inputs `x` `[rows, P + T − 1, D]`, tokens and
/// per-token weights `[rows, T]`.
fn frozen_rows<B: Backend, L: CausalLm<B>>(
    lm: &L,
    x: Tensor<B, 3>,
    tokens: Tensor<B, 2, Int>,
    weights: Tensor<B, 2>,
    p: usize,
) -> Option<(Tensor<B, 1>, Tensor<B, 3>)> {
    let [rows, t] = tokens.dims();
    let d = x.dims()[2];
    let (hidden, backward) = lm.forward_hidden_frozen(x)?;
    let h = hidden
        .slice([0..rows, p - 1..p - 1 + t, 0..d])
        .reshape([rows * t, d]);
    let head = OutputHead::of(lm);
    let (loss, grad) = head_loss(&head, h, tokens, weights.reshape([rows * t, 1]));
    let dh = grad.matmul(head.weight.transpose()).reshape([rows, t, d]);
    // Positions before the last prefix slot predict nothing: their gradient is zero.
    let d_hidden = Tensor::zeros([rows, p + t - 1, d], &dh.device())
        .slice_assign([0..rows, p - 1..p - 1 + t, 0..d], dh);
    let d_prefix = backward(d_hidden).slice([0..rows, 0..p, 0..d]);
    Some((loss, d_prefix))
}

/// The loss over report positions and its gradient with respect to the logits:
/// `(Σ w · nll, w · (softmax − onehot))` for hidden states `[rows, D]`, targets
/// `[batch, T]` and per-position weights `w` `[rows, 1]` (`rows = batch · T`).
fn head_loss<B: Backend>(
    head: &OutputHead<B>,
    hidden: Tensor<B, 2>,
    tokens: Tensor<B, 2, Int>,
    weights: Tensor<B, 2>,
) -> (Tensor<B, 1>, Tensor<B, 2>) {
    let [batch, t] = tokens.dims();
    let targets = tokens.reshape([batch * t, 1]);
    let (nll, exp, sum) = row_nll(head.forward(hidden), targets.clone());
    let loss = (nll * weights.clone()).sum();
    // softmax · w, then −w at each row's target.
    let grad =
        (exp * (weights.clone() / sum)).scatter(1, targets, weights.neg(), IndexingUpdateOp::Add);
    (loss, grad)
}

/// A scalar with `surrogate`'s gradients and `value`'s value.
fn with_value<B: AutodiffBackend>(
    surrogate: Tensor<B, 1>,
    value: Tensor<B::InnerBackend, 1>,
) -> Tensor<B, 1> {
    // `s − detach(s)` is exactly zero, and differentiates as `s`.
    surrogate.clone() - surrogate.detach() + Tensor::from_inner(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::{Module, Param};
    use burn::tensor::activation::log_softmax;
    use burn::tensor::{Distribution, TensorData, Tolerance};

    type A = Autodiff<Flex>;

    /// A one-layer LM: `hidden = tanh(x · M)`, head `W` (+ `b`), embeddings `E`.
    #[derive(Module, Debug)]
    struct Toy<B: Backend> {
        embed: Param<Tensor<B, 2>>,
        mix: Param<Tensor<B, 2>>,
        head: Param<Tensor<B, 2>>,
        bias: Option<Param<Tensor<B, 1>>>,
    }

    impl<B: Backend> Toy<B> {
        fn d_model(&self) -> usize {
            self.embed.dims()[1]
        }
        fn vocab_size(&self) -> usize {
            self.embed.dims()[0]
        }
        fn embed(&self, ids: Tensor<B, 2, Int>) -> Tensor<B, 3> {
            let [b, t] = ids.dims();
            let d = self.d_model();
            self.embed
                .val()
                .select(0, ids.reshape([b * t]))
                .reshape([b, t, d])
        }
        fn hidden(&self, embeddings: Tensor<B, 3>) -> Tensor<B, 3> {
            // A causal running mean makes every position depend on the prefix.
            let t = embeddings.dims()[1];
            let csum = embeddings.cumsum(1);
            let counts = Tensor::<B, 1, Int>::arange(1..t as i64 + 1, &csum.device())
                .float()
                .reshape([1, t, 1]);
            (csum / counts).matmul(self.mix.val().unsqueeze()).tanh()
        }
        fn output_head(&self) -> OutputHead<B> {
            OutputHead {
                weight: self.head.val(),
                bias: self.bias.as_ref().map(|b| b.val()),
            }
        }
        /// The hidden states at report positions, as `report_hidden` takes them from an LLM.
        fn report_hidden(&self, prefix: Tensor<B, 3>, tokens: Tensor<B, 2, Int>) -> Tensor<B, 2> {
            let [b, p, d] = prefix.dims();
            let [_, t] = tokens.dims();
            let x = Tensor::cat(vec![prefix, self.embed(tokens.slice([0..b, 0..t - 1]))], 1);
            self.hidden(x)
                .slice([0..b, p - 1..p - 1 + t, 0..d])
                .reshape([b * t, d])
        }
    }

    fn toy(v: usize, d: usize, bias: bool, frozen_head: bool) -> Toy<A> {
        let device = Default::default();
        let n = |shape: [usize; 2]| {
            Param::from_tensor(Tensor::random(
                shape,
                Distribution::Normal(0.0, 1.0),
                &device,
            ))
        };
        let head = n([d, v]);
        Toy {
            embed: n([v, d]),
            mix: n([d, d]),
            head: if frozen_head {
                head.set_require_grad(false)
            } else {
                head
            },
            bias: bias.then(|| {
                Param::from_tensor(Tensor::random([v], Distribution::Normal(0.0, 1.0), &device))
            }),
        }
    }

    /// The textbook loss: log-softmax over every position, then the report slice.
    fn plain_nll<B: Backend>(
        lm: &Toy<B>,
        prefix: Tensor<B, 3>,
        tokens: Tensor<B, 2, Int>,
        mask: Tensor<B, 2>,
    ) -> Tensor<B, 1> {
        let [b, p, _] = prefix.dims();
        let [_, t] = tokens.dims();
        let x = Tensor::cat(
            vec![prefix, lm.embed(tokens.clone().slice([0..b, 0..t - 1]))],
            1,
        );
        let h = lm.hidden(x);
        let logits = h.matmul(lm.head.val().unsqueeze())
            + lm.bias.as_ref().map_or_else(
                || Tensor::zeros([1, 1, lm.vocab_size()], &lm.head.device()),
                |b| b.val().reshape([1, 1, lm.vocab_size()]),
            );
        let v = lm.vocab_size();
        let logp = log_softmax(logits.slice([0..b, p - 1..p - 1 + t, 0..v]), 2);
        let picked = logp.gather(2, tokens.unsqueeze_dim(2)).squeeze_dim::<2>(2);
        (picked * mask.clone()).sum().neg() / mask.sum()
    }

    fn grads_of(lm: &Toy<A>, loss: Tensor<A, 1>, prefix: &Tensor<A, 3>) -> Vec<Vec<f32>> {
        let g = loss.backward();
        let mut out = vec![prefix.grad(&g).unwrap().into_data().to_vec().unwrap()];
        out.push(lm.mix.val().grad(&g).unwrap().into_data().to_vec().unwrap());
        out.push(
            lm.embed
                .val()
                .grad(&g)
                .unwrap()
                .into_data()
                .to_vec()
                .unwrap(),
        );
        let flat = |t: Option<TensorData>| t.map_or(vec![], |t| t.to_vec().unwrap());
        out.push(flat(lm.head.val().grad(&g).map(|t| t.into_data())));
        out.push(flat(
            lm.bias
                .as_ref()
                .and_then(|b| b.val().grad(&g))
                .map(|t| t.into_data()),
        ));
        out
    }

    /// With a frozen LLaMA (grouped-query attention, tied head), the frozen path gives
    /// the textbook loss and the prefix gradient autodiff computes through the LLM, for a
    /// batch that splits into unequal row groups and with padding.
    #[test]
    fn frozen_llama_path_equals_autodiff() {
        use rad3d_llm::{CausalLm, Llm, ModelConfig};
        let device = Default::default();
        let json = serde_json::json!({
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": 32,
            "intermediate_size": 40,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": 61,
            "max_position_embeddings": 64,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "tie_word_embeddings": true
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, json.to_string()).unwrap();
        let lm: Llm<A> = ModelConfig::from_hf_file(&path)
            .unwrap()
            .init(3, &device)
            .unwrap()
            .freeze();
        let (b, p, t, d) = (3, 4, 7, 32);
        let prefix = Tensor::<A, 3>::random([b, p, d], Distribution::Normal(0.0, 1.0), &device)
            .require_grad();
        let ids: Vec<i64> = (0..b * t).map(|i| (i * 11 % 61) as i64).collect();
        let tokens = Tensor::<A, 2, Int>::from_data(TensorData::new(ids, [b, t]), &device);
        let mut m = vec![1.0f32; b * t];
        m[2 * t - 3..2 * t].fill(0.0);
        let mask = Tensor::<A, 2>::from_data(TensorData::new(m, [b, t]), &device);
        let want = report_nll(&lm, prefix.clone(), tokens.clone(), mask.clone());
        let frozen = burn::module::AutodiffModule::valid(&lm);
        let got = report_nll_frozen(&frozen, prefix.clone(), tokens, mask).expect("LLaMA path");
        got.clone()
            .into_data()
            .assert_approx_eq::<f32>(&want.clone().into_data(), Tolerance::absolute(1e-5));
        let want_g = prefix.grad(&want.backward()).unwrap();
        let got_g = prefix.grad(&got.backward()).unwrap();
        assert!(
            want_g.clone().abs().max().into_scalar() > 1e-4,
            "a real gradient"
        );
        got_g
            .into_data()
            .assert_approx_eq::<f32>(&want_g.into_data(), Tolerance::absolute(1e-5));
        assert!(CausalLm::vocab_size(&lm) == 61);
    }

    /// The fused loss matches the textbook loss in value and in every gradient (prefix,
    /// body, embeddings, head, bias), with trainable and frozen heads, with padding.
    #[test]
    fn fused_equals_textbook_loss_and_gradients() {
        let device = Default::default();
        let (v, d, b, p, t) = (37, 8, 3, 4, 6);
        for (bias, frozen) in [(false, false), (true, false), (true, true), (false, true)] {
            let lm = toy(v, d, bias, frozen);
            let prefix = Tensor::<A, 3>::random([b, p, d], Distribution::Normal(0.0, 1.0), &device)
                .require_grad();
            let ids: Vec<i64> = (0..b * t).map(|i| (i * 7 % v) as i64).collect();
            let tokens = Tensor::<A, 2, Int>::from_data(TensorData::new(ids, [b, t]), &device);
            let mut m = vec![1.0f32; b * t];
            m[t - 1] = 0.0;
            m[2 * t - 2..2 * t].fill(0.0);
            let mask = Tensor::<A, 2>::from_data(TensorData::new(m, [b, t]), &device);
            let want = plain_nll(&lm, prefix.clone(), tokens.clone(), mask.clone());
            let hidden = || lm.report_hidden(prefix.clone(), tokens.clone());
            let got = fused_nll_of_hidden(lm.output_head(), hidden(), tokens.clone(), mask.clone());
            let plain = nll_of_hidden(&lm.output_head(), hidden(), tokens.clone(), mask.clone());
            for other in [&got, &plain] {
                other
                    .clone()
                    .into_data()
                    .assert_approx_eq::<f32>(&want.clone().into_data(), Tolerance::absolute(1e-5));
            }
            let want_g = grads_of(&lm, want, &prefix);
            let got_g = grads_of(&lm, got, &prefix);
            assert_eq!(got_g[3].is_empty(), frozen, "head gradient iff it trains");
            for (w, g) in want_g.iter().zip(&got_g) {
                assert_eq!(w.len(), g.len());
                for (a, b) in w.iter().zip(g) {
                    assert!((a - b).abs() < 1e-5, "gradient {a} vs {b}");
                }
            }
        }
    }
}
