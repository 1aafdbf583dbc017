//! The key/value cache: preallocated per-layer buffers filled by `slice_assign`, plus
//! the per-sequence bookkeeping (positions, padding) that decides attention masks.
//!
//! Positions follow HF's convention for padded batches: a token's position is the
//! number of real (unpadded) tokens before it in its row, so a left-padded row
//! sees the same positions as the unpadded sequence would.

use burn::tensor::{Int, Tensor, TensorData, backend::Backend};

use crate::attention::expand_bias;

/// Added to the attention scores of masked keys. Finite (not −∞) so a query that can
/// see no key at all (a padding slot) gets a uniform softmax instead of NaN.
const MASKED: f32 = -1e30;

/// Host-side state of the sequences in a batch: how many slots are filled, each row's
/// next position and which slots hold real tokens.
#[derive(Debug, Clone)]
pub(crate) struct SeqState {
    batch: usize,
    capacity: usize,
    len: usize,
    next_pos: Vec<usize>,
    /// `batch × capacity`, row-major; true where the slot holds a real token.
    valid: Vec<bool>,
    /// Whether any slot so far was padding (otherwise masks reduce to causal).
    padded: bool,
}

/// What one forward call needs to know about where its tokens sit.
#[derive(Debug)]
pub(crate) struct StepContext<B: Backend> {
    /// First slot written by this call.
    pub start: usize,
    /// Keys visible after this call (`start + T`).
    pub total: usize,
    /// Positions of the new tokens, `[T]` when every row agrees, else `[B·T]` row-major.
    pub positions: Vec<usize>,
    /// Whether `positions` is shared by all rows.
    pub shared_positions: bool,
    /// Additive attention bias `[B or 1, 1, T, total]`; `None` when nothing is masked.
    pub bias: Option<Tensor<B, 4>>,
}

impl<B: Backend> StepContext<B> {
    /// The context of `t` new tokens per row of a `batch`: continuing the sequences in
    /// `cache`, or complete sequences without one (`mask` as in [`SeqState::advance`]).
    /// The bias comes expanded to `heads` query heads (see [`expand_bias`]), once per
    /// forward pass for every layer to share.
    pub(crate) fn begin(
        cache: Option<&mut KvCache<B>>,
        batch: usize,
        t: usize,
        mask: Option<&[bool]>,
        heads: usize,
        device: &B::Device,
    ) -> Self {
        let mut ctx = match cache {
            Some(c) => c.advance(t, mask, device),
            None => SeqState::new(batch, t).advance(t, mask, device),
        };
        ctx.bias = ctx.bias.map(|bias| expand_bias(bias, batch, heads));
        ctx
    }

    /// Rows of a learned position `table` for this step's tokens, `[B or 1, T, D]`:
    /// position `p` reads row `p + offset` (BioGPT's table starts 2 rows in).
    ///
    /// # Panics
    /// If a position reaches `max` (`family` names the model in the message).
    pub(crate) fn learned_positions(
        &self,
        table: Tensor<B, 2>,
        batch: usize,
        offset: usize,
        max: usize,
        family: &str,
    ) -> Tensor<B, 3> {
        let last = self.positions.iter().copied().max().unwrap_or(0);
        assert!(
            last < max,
            "{family} position {last} beyond {max} positions"
        );
        let idx: Vec<i64> = self
            .positions
            .iter()
            .map(|&p| (p + offset) as i64)
            .collect();
        let n = idx.len();
        let device = table.device();
        let d = table.dims()[1];
        let idx = Tensor::<B, 1, Int>::from_data(TensorData::new(idx, [n]), &device);
        let rows = if self.shared_positions { 1 } else { batch };
        table.select(0, idx).reshape([rows, n / rows, d])
    }
}

impl SeqState {
    pub(crate) fn new(batch: usize, capacity: usize) -> Self {
        Self {
            batch,
            capacity,
            len: 0,
            next_pos: vec![0; batch],
            valid: vec![false; batch * capacity],
            padded: false,
        }
    }

    /// Registers `t` new tokens per row (`mask`: `[B·T]`, true = real token; `None` = all
    /// real) and builds the step's positions and attention bias.
    ///
    /// # Panics
    /// If the tokens do not fit the capacity or the mask has the wrong length.
    pub(crate) fn advance<B: Backend>(
        &mut self,
        t: usize,
        mask: Option<&[bool]>,
        device: &B::Device,
    ) -> StepContext<B> {
        let (b, start) = (self.batch, self.len);
        let total = start + t;
        assert!(
            total <= self.capacity,
            "KV cache overflow: {total} positions requested, capacity {}",
            self.capacity
        );
        if let Some(m) = mask {
            assert_eq!(m.len(), b * t, "attention mask must be [batch, new tokens]");
        }
        let mask = mask.filter(|m| m.iter().any(|&v| !v));
        let mut positions = Vec::with_capacity(b * t);
        for row in 0..b {
            for i in 0..t {
                let real = mask.is_none_or(|m| m[row * t + i]);
                self.valid[row * self.capacity + start + i] = real;
                // Padding slots get the row's next position; their outputs are never read.
                positions.push(self.next_pos[row]);
                if real {
                    self.next_pos[row] += 1;
                }
            }
        }
        self.padded |= mask.is_some();
        self.len = total;
        let shared_positions = positions.chunks(t.max(1)).all(|c| c == &positions[..t]);
        if shared_positions {
            positions.truncate(t);
        }
        let bias = if self.padded {
            let mut data = Vec::with_capacity(b * t * total);
            for row in 0..b {
                let valid = &self.valid[row * self.capacity..row * self.capacity + total];
                for i in 0..t {
                    let q = start + i;
                    data.extend((0..total).map(|k| {
                        // A query always sees itself so fully padded rows stay finite.
                        if k == q || (k < q && valid[k]) {
                            0.0
                        } else {
                            MASKED
                        }
                    }));
                }
            }
            Some(Tensor::from_data(
                TensorData::new(data, [b, 1, t, total]),
                device,
            ))
        } else if t > 1 {
            let data: Vec<f32> = (0..t)
                .flat_map(|i| (0..total).map(move |k| if k <= start + i { 0.0 } else { MASKED }))
                .collect();
            Some(Tensor::from_data(
                TensorData::new(data, [1, 1, t, total]),
                device,
            ))
        } else {
            None
        };
        StepContext {
            start,
            total,
            positions,
            shared_positions,
            bias,
        }
    }

    /// Keeps rows `rows[i]` as the new row `i` (beam search reordering).
    fn reorder(&mut self, rows: &[usize]) {
        let cap = self.capacity;
        self.next_pos = rows.iter().map(|&r| self.next_pos[r]).collect();
        self.valid = rows
            .iter()
            .flat_map(|&r| self.valid[r * cap..(r + 1) * cap].to_vec())
            .collect();
        self.batch = rows.len();
    }
}

/// Preallocated keys and values of every layer, `[batch, kv_heads, capacity, head_dim]`
/// each, written in place as tokens arrive. Create one with
/// [`CausalLm::new_cache`](crate::CausalLm::new_cache) and pass it to every forward call
/// of one generation.
#[derive(Debug)]
pub struct KvCache<B: Backend> {
    /// Per layer `(keys, values)`; `None` only transiently while a layer updates.
    layers: Vec<Option<(Tensor<B, 4>, Tensor<B, 4>)>>,
    state: SeqState,
    /// The row of the first call's batch each row descends from (see
    /// [`source_rows`](Self::source_rows)).
    origin: Vec<usize>,
}

impl<B: Backend> KvCache<B> {
    /// Allocates zeroed buffers for `num_layers` layers.
    pub fn new(
        num_layers: usize,
        batch: usize,
        kv_heads: usize,
        capacity: usize,
        head_dim: usize,
        device: &B::Device,
    ) -> Self {
        let shape = [batch, kv_heads, capacity, head_dim];
        let layers = (0..num_layers)
            .map(|_| Some((Tensor::zeros(shape, device), Tensor::zeros(shape, device))))
            .collect();
        Self {
            layers,
            state: SeqState::new(batch, capacity),
            origin: (0..batch).collect(),
        }
    }

    /// For each row, the row of the batch the cache was created for that it descends
    /// from through [`reorder`](Self::reorder) (beam expansion, dropped rows): what
    /// per-sequence inputs outside the cache (encoder states) follow.
    pub fn source_rows(&self) -> &[usize] {
        &self.origin
    }

    /// Number of filled slots (tokens seen so far, padding included).
    pub fn len(&self) -> usize {
        self.state.len
    }

    /// Whether no token has been written yet.
    pub fn is_empty(&self) -> bool {
        self.state.len == 0
    }

    /// Maximum number of slots.
    pub fn capacity(&self) -> usize {
        self.state.capacity
    }

    /// Number of sequences (rows).
    pub fn batch_size(&self) -> usize {
        self.state.batch
    }

    /// Forgets every token (buffers are kept for reuse).
    pub fn reset(&mut self) {
        self.state = SeqState::new(self.state.batch, self.state.capacity);
    }

    /// Reorders (and possibly duplicates or drops) rows: new row `i` is old row `rows[i]`.
    /// Beam search calls this after each step.
    pub fn reorder(&mut self, rows: &[usize], device: &B::Device) {
        let idx = Tensor::<B, 1, burn::tensor::Int>::from_data(
            TensorData::new(
                rows.iter().map(|&r| r as i64).collect::<Vec<_>>(),
                [rows.len()],
            ),
            device,
        );
        for layer in &mut self.layers {
            let (k, v) = layer.take().expect("cache layer present");
            *layer = Some((k.select(0, idx.clone()), v.select(0, idx.clone())));
        }
        self.state.reorder(rows);
        self.origin = rows.iter().map(|&r| self.origin[r]).collect();
    }

    pub(crate) fn advance(
        &mut self,
        t: usize,
        mask: Option<&[bool]>,
        device: &B::Device,
    ) -> StepContext<B> {
        self.state.advance(t, mask, device)
    }

    /// Writes this step's keys/values `[B, kv_heads, T, head_dim]` of `layer` at slot
    /// `start` and returns the keys/values of all `total` slots.
    pub(crate) fn update(
        &mut self,
        layer: usize,
        k_new: Tensor<B, 4>,
        v_new: Tensor<B, 4>,
        start: usize,
        total: usize,
    ) -> (Tensor<B, 4>, Tensor<B, 4>) {
        let (k, v) = self.layers[layer].take().expect("cache layer present");
        let [b, h, t, d] = k_new.dims();
        let range = [0..b, 0..h, start..start + t, 0..d];
        // The buffers are uniquely owned here, so backends write in place.
        let k = k.slice_assign(range.clone(), k_new);
        let v = v.slice_assign(range, v_new);
        let out = (k.clone().narrow(2, 0, total), v.clone().narrow(2, 0, total));
        self.layers[layer] = Some((k, v));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn left_padding_positions_and_mask() {
        let device = Default::default();
        let mut s = SeqState::new(2, 8);
        // row 0: [pad, a, b]; row 1: [c, d, e]
        let mask = [false, true, true, true, true, true];
        let ctx = s.advance::<Flex>(3, Some(&mask), &device);
        assert!(!ctx.shared_positions);
        assert_eq!(ctx.positions, vec![0, 0, 1, 0, 1, 2]);
        let bias: Vec<f32> = ctx.bias.unwrap().into_data().to_vec().unwrap();
        // row 0, query 2 sees key 1 and 2, not the padding key 0.
        assert_eq!(&bias[6..9], &[MASKED, 0.0, 0.0]);
        // row 1, query 1 is causal.
        assert_eq!(&bias[9 + 3..9 + 6], &[0.0, 0.0, MASKED]);
        // next step: positions continue per row, padding stays masked.
        let ctx = s.advance::<Flex>(1, None, &device);
        assert_eq!(ctx.positions, vec![2, 3]);
        let bias: Vec<f32> = ctx.bias.unwrap().into_data().to_vec().unwrap();
        assert_eq!(bias, vec![MASKED, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }

    #[test]
    fn unpadded_decode_step_needs_no_mask() {
        let device = Default::default();
        let mut s = SeqState::new(3, 8);
        let ctx = s.advance::<Flex>(4, None, &device);
        assert!(ctx.shared_positions && ctx.bias.is_some());
        let ctx = s.advance::<Flex>(1, None, &device);
        assert_eq!((ctx.positions, ctx.start, ctx.total), (vec![4], 4, 5));
        assert!(ctx.bias.is_none());
    }

    #[test]
    fn source_rows_follow_beam_expansion_and_dropped_rows() {
        let device = Default::default();
        let mut c = KvCache::<Flex>::new(1, 2, 1, 4, 2, &device);
        assert_eq!(c.source_rows(), &[0, 1]);
        c.reorder(&[0, 0, 0, 1, 1, 1], &device);
        assert_eq!(c.source_rows(), &[0, 0, 0, 1, 1, 1]);
        c.reorder(&[1, 4, 2], &device);
        assert_eq!(c.source_rows(), &[0, 1, 0]);
        c.reset();
        assert_eq!(c.source_rows(), &[0, 1, 0]);
    }
}
