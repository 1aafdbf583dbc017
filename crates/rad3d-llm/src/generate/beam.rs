//! Beam search with transformers' (≥ 4.50) semantics: processors on log-probabilities,
//! `max(2, 1 + n_eos) · K` candidates per step, finished hypotheses ranked by
//! `score / new_len^length_penalty`, and its early-stop heuristic.
//!
//! The prompt is prefilled once per sequence and the cache rows are then duplicated to
//! the `K` beams, instead of running the same prompt `K` times.

use burn::tensor::backend::Backend;

use super::{Prepared, Steps, last_logits, processors, step};
use crate::error::Result;
use crate::model::CausalLm;

/// transformers' stand-in for −∞ in beam bookkeeping.
const NEG: f32 = -1.0e9;

/// One candidate continuation.
#[derive(Clone)]
struct Candidate {
    score: f32,
    beam: usize,
    token: u32,
}

/// A finished (or placeholder) hypothesis.
#[derive(Clone)]
struct Finished {
    score: f32,
    tokens: Vec<u32>,
    done: bool,
}

/// Indices of the `k` largest values, largest first (stable on ties).
fn top_indices(values: &[f32], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..values.len()).collect();
    idx.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    idx.truncate(k);
    idx
}

pub(super) fn beam_search<B: Backend, M: CausalLm<B>>(
    model: &M,
    input: Prepared<B>,
    steps: &Steps<'_>,
    num_beams: usize,
    length_penalty: f32,
    early_stopping: bool,
) -> Result<Vec<Vec<u32>>> {
    let batch = input.prompts.len();
    let k = num_beams;
    if steps.config.max_new_tokens == 0 {
        return Ok(vec![Vec::new(); batch]);
    }
    let keep = 2usize.max(1 + steps.eos.len()) * k;
    let capacity = steps.capacity(model, input.len())?;
    let mut cache = model.new_cache(batch, capacity, &input.device);
    let hidden =
        model.forward_hidden_host_mask(input.embeds, input.mask.as_deref(), Some(&mut cache));
    let first = last_logits(model, hidden);
    let rows: Vec<usize> = (0..batch).flat_map(|b| std::iter::repeat_n(b, k)).collect();
    cache.reorder(&rows, &input.device);
    let mut logits: Vec<Vec<f32>> = rows.iter().map(|&b| first[b].clone()).collect();

    let mut running: Vec<Vec<Vec<u32>>> = vec![vec![Vec::new(); k]; batch];
    let mut running_scores: Vec<Vec<f32>> = (0..batch)
        .map(|_| (0..k).map(|j| if j == 0 { 0.0 } else { NEG }).collect())
        .collect();
    let mut finished: Vec<Vec<Finished>> = vec![
        vec![
            Finished {
                score: NEG,
                tokens: Vec::new(),
                done: false
            };
            k
        ];
        batch
    ];
    let mut improvable = vec![true; batch];
    let mut new_len = 0usize;

    loop {
        new_len += 1;
        let mut all_hit = true;
        let mut reorder = Vec::with_capacity(batch * k);
        let mut next_tokens = Vec::with_capacity(batch * k);
        for b in 0..batch {
            // Accumulated log-probabilities of every (beam, token) continuation.
            let mut flat: Vec<f32> = Vec::with_capacity(k * logits[0].len());
            for j in 0..k {
                let scores = &mut logits[b * k + j];
                processors::log_softmax(scores);
                steps.process(scores, b, &running[b][j]);
                let base = running_scores[b][j];
                flat.extend(scores.iter().map(|s| s + base));
            }
            let v = logits[0].len();
            let cands: Vec<Candidate> = top_indices(&flat, keep)
                .into_iter()
                .map(|i| Candidate {
                    score: flat[i],
                    beam: i / v,
                    token: (i % v) as u32,
                })
                .collect();
            let mut seqs = Vec::with_capacity(keep);
            let mut hits = Vec::with_capacity(keep);
            for c in &cands {
                let mut s = running[b][c.beam].clone();
                s.push(c.token);
                hits.push(steps.stops(&s)?);
                seqs.push(s);
            }
            all_hit &= hits.iter().all(|&h| h);

            // Next running beams: the best candidates that did not stop.
            let alive: Vec<f32> = cands
                .iter()
                .zip(&hits)
                .map(|(c, &h)| c.score + if h { NEG } else { 0.0 })
                .collect();
            let chosen = top_indices(&alive, k);
            running[b] = chosen.iter().map(|&i| seqs[i].clone()).collect();
            running_scores[b] = chosen.iter().map(|&i| alive[i]).collect();
            for &i in &chosen {
                reorder.push(b * k + cands[i].beam);
                next_tokens.push(cands[i].token);
            }

            // Finished hypotheses: only the top-K candidates may enter, length-normalised.
            let all_done = finished[b].iter().all(|f| f.done);
            let norm = (new_len as f32).powf(length_penalty);
            let mut merged = finished[b].clone();
            for (i, c) in cands.iter().enumerate() {
                let just_finished = hits[i] && i < k;
                let mut score = c.score / norm;
                if all_done && early_stopping {
                    score += NEG;
                }
                if !improvable[b] {
                    score += NEG;
                }
                if !just_finished {
                    score += NEG;
                }
                merged.push(Finished {
                    score,
                    tokens: seqs[i].clone(),
                    done: just_finished,
                });
            }
            let scores: Vec<f32> = merged.iter().map(|f| f.score).collect();
            finished[b] = top_indices(&scores, k)
                .into_iter()
                .map(|i| merged[i].clone())
                .collect();

            // Early-stop heuristic (early_stopping=False flavour uses the current length).
            let best_running = running_scores[b][0] / norm;
            let worst = finished[b]
                .iter()
                .map(|f| f.score)
                .fold(f32::INFINITY, f32::min);
            improvable[b] &= finished[b]
                .iter()
                .any(|f| best_running > if f.done { worst } else { NEG });
        }
        let all_full = finished.iter().all(|f| f.iter().all(|h| h.done));
        if !improvable.iter().any(|&x| x) || (early_stopping && all_full) || all_hit {
            break;
        }
        cache.reorder(&reorder, &input.device);
        logits = step(model, &next_tokens, &mut cache, &input.device);
    }
    Ok(finished
        .into_iter()
        .zip(running)
        .map(|(f, r)| {
            let best = &f[0];
            if best.done {
                best.tokens.clone()
            } else {
                r[0].clone()
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_indices_is_stable_and_sorted() {
        assert_eq!(top_indices(&[1.0, 3.0, 3.0, 2.0], 3), vec![1, 2, 3]);
    }
}
