//! Report generation for a whole split, written as CSV or JSONL for evaluation.

use std::io::Write;
use std::path::Path;

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use crate::batch::{EncodedExample, TokenBatch};
use crate::error::{Result, TrainError, io_err};
use crate::model::{LmBackbone, PrefixModel};
use crate::tokenizer::ReportTokenizer;

/// Greedy decoding from a prefix: at every step the arg-max token of the last position
/// is appended (as its embedding) until every row has produced `eos` or `max_new`
/// tokens. Returns the new ids of each row, without the EOS.
///
/// This recomputes the whole sequence each step (no KV cache), which keeps it exact for
/// any [`LmBackbone`]; prefer the LLM crate's cached generation for long reports.
///
/// # Shapes
/// - prefix: `[batch, P, D]`
pub fn greedy_from_prefix<B: Backend, L: LmBackbone<B>>(
    llm: &L,
    prefix: Tensor<B, 3>,
    max_new: usize,
    eos: u32,
) -> Vec<Vec<u32>> {
    let [batch, _, _] = prefix.dims();
    let device = prefix.device();
    let mut seq = prefix;
    let mut out = vec![Vec::new(); batch];
    let mut done = vec![false; batch];
    for _ in 0..max_new {
        let logits = llm.logits(seq.clone());
        let [_, t, v] = logits.dims();
        let last = logits.slice([0..batch, t - 1..t, 0..v]).reshape([batch, v]);
        let next: Vec<i64> = last
            .argmax(1)
            .into_data()
            .convert::<i64>()
            .to_vec()
            .expect("ids");
        for (i, &id) in next.iter().enumerate() {
            if !done[i] {
                if id as u32 == eos {
                    done[i] = true;
                } else {
                    out[i].push(id as u32);
                }
            }
        }
        if done.iter().all(|d| *d) {
            break;
        }
        let ids = Tensor::<B, 2, Int>::from_data(TensorData::new(next, [batch, 1]), &device);
        seq = Tensor::cat(vec![seq, llm.embed(ids)], 1);
    }
    out
}

/// One generated report beside its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedReport {
    /// Volume name.
    pub name: String,
    /// Generated text.
    pub generated: String,
    /// Reference text (decoded from the training tokens).
    pub reference: String,
}

/// Generates a report for every example (batches of `batch_size`), greedily.
pub fn generate_reports<B: Backend, L: LmBackbone<B>>(
    model: &PrefixModel<B, L>,
    examples: &[EncodedExample],
    tokenizer: &dyn ReportTokenizer,
    max_new: usize,
    batch_size: usize,
    device: &B::Device,
) -> Vec<GeneratedReport> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&EncodedExample> = chunk.iter().collect();
        let batch = TokenBatch::<B>::from_examples(&refs, tokenizer.eos_id(), device);
        let inputs = batch.inputs.expect("prefix models need projector inputs");
        let ids = model
            .llm
            .greedy(model.prefix(inputs), max_new, tokenizer.eos_id());
        for (e, ids) in chunk.iter().zip(ids) {
            let reference: Vec<u32> = e
                .tokens
                .iter()
                .copied()
                .filter(|&t| t != tokenizer.eos_id())
                .collect();
            out.push(GeneratedReport {
                name: e.name.clone(),
                generated: tokenizer.decode(&ids),
                reference: tokenizer.decode(&reference),
            });
        }
    }
    out
}

/// Writes `VolumeName,generated,reference` rows (CSV, quoted as needed).
pub fn write_reports_csv(path: &Path, reports: &[GeneratedReport]) -> Result<()> {
    let mut w = csv::Writer::from_path(path).map_err(|e| TrainError::Csv {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let err = |e: csv::Error| TrainError::Csv {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    w.write_record(["VolumeName", "generated", "reference"])
        .map_err(err)?;
    for r in reports {
        w.write_record([&r.name, &r.generated, &r.reference])
            .map_err(err)?;
    }
    w.flush().map_err(io_err(path))
}

/// Writes one JSON object per line: `{"name", "generated", "reference"}`.
pub fn write_reports_jsonl(path: &Path, reports: &[GeneratedReport]) -> Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).map_err(io_err(path))?);
    for r in reports {
        writeln!(f, "{}", serde_json::to_string(r).expect("plain struct")).map_err(io_err(path))?;
    }
    f.flush().map_err(io_err(path))
}
