//! Report generation for a whole split, written as CSV or JSONL for evaluation.

use std::io::Write;
use std::path::Path;

use burn::tensor::backend::Backend;
use rad3d_llm::CausalLm;
use rad3d_model::{PrefixModel, ReportTokenizer};
use serde::{Deserialize, Serialize};

use crate::batch::{EncodedExample, TokenBatch};
use crate::error::{Result, TrainError, io_err};

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

/// Generates a report for every example (batches of `batch_size`) with the LLM's KV
/// cache and the variant's decoding ([`PrefixModel::generate`]: R2GenGPT's beam search
/// for that baseline, greedy for the others).
pub fn generate_reports<B: Backend, L: CausalLm<B>>(
    model: &PrefixModel<B, L>,
    examples: &[EncodedExample],
    tokenizer: &dyn ReportTokenizer,
    max_new: usize,
    batch_size: usize,
    device: &B::Device,
) -> Result<Vec<GeneratedReport>> {
    let mut out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(batch_size.max(1)) {
        let refs: Vec<&EncodedExample> = chunk.iter().collect();
        let batch = TokenBatch::<B>::from_examples(&refs, tokenizer.eos_id(), device);
        let inputs = batch.inputs.expect("prefix models need projector inputs");
        let ids = model.generate(inputs, max_new, tokenizer.eos_id())?;
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
    Ok(out)
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
