//! Report generation for a whole split, written as CSV or JSONL for evaluation.

use std::io::Write;
use std::path::Path;

use burn::tensor::backend::Backend;
use rad3d_llm::CausalLm;
use rad3d_model::{PrefixModel, ReportTokenizer};
use serde::{Deserialize, Serialize};

use crate::batch::{EncodedExample, TokenBatch};
use crate::error::{Result, TrainError};

/// One generated report beside its reference.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GeneratedReport {
    /// Volume name.
    pub name: String,
    /// Generated text.
    pub generated: String,
    /// Reference text (decoded from the training tokens).
    pub reference: String,
    /// Every label's classifier probability for the study, in label order (the paper's
    /// Table 5 shows them beside the report); empty when the run has no classifier.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probabilities: Vec<(String, f32)>,
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
                probabilities: Vec::new(),
            });
        }
    }
    Ok(out)
}

/// Writes `VolumeName,generated,reference` rows (CSV, quoted as needed), then one column
/// per label with each study's probability when the reports carry them, replacing `path`
/// atomically.
///
/// # Errors
/// [`TrainError::Data`] when the reports name different labels; [`TrainError::Csv`] /
/// [`TrainError::Io`] when the file cannot be written.
pub fn write_reports_csv(path: &Path, reports: &[GeneratedReport]) -> Result<()> {
    let labels: Vec<&str> = reports
        .first()
        .map(|r| r.probabilities.iter().map(|(l, _)| l.as_str()).collect())
        .unwrap_or_default();
    if let Some(r) = reports.iter().find(|r| {
        r.probabilities
            .iter()
            .map(|(l, _)| l.as_str())
            .ne(labels.iter().copied())
    }) {
        return Err(TrainError::Data {
            what: path.display().to_string(),
            reason: format!("report {} names other labels than the first report", r.name),
        });
    }
    let csv_err = |e: csv::Error| TrainError::Csv {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["VolumeName", "generated", "reference"];
    header.extend(&labels);
    w.write_record(&header).map_err(csv_err)?;
    for r in reports {
        let mut row = vec![r.name.clone(), r.generated.clone(), r.reference.clone()];
        row.extend(r.probabilities.iter().map(|(_, p)| p.to_string()));
        w.write_record(&row).map_err(csv_err)?;
    }
    let bytes = w.into_inner().map_err(|e| TrainError::Csv {
        path: path.to_path_buf(),
        reason: e.error().to_string(),
    })?;
    Ok(rad3d_io::write_atomic(path, &bytes)?)
}

/// Writes one JSON object per line, `{"name", "generated", "reference"}` plus
/// `"probabilities": [[label, p], …]` when the reports carry them, replacing `path`
/// atomically.
///
/// # Errors
/// [`TrainError::Io`] when the file cannot be written.
pub fn write_reports_jsonl(path: &Path, reports: &[GeneratedReport]) -> Result<()> {
    rad3d_io::write_atomic_with(path, |f| {
        for r in reports {
            writeln!(f, "{}", serde_json::to_string(r).expect("plain struct"))?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(name: &str, probabilities: &[(&str, f32)]) -> GeneratedReport {
        GeneratedReport {
            name: name.into(),
            generated: "No effusion, \"small\" nodule.".into(),
            reference: "No effusion.".into(),
            probabilities: probabilities.iter().map(|&(l, p)| (l.into(), p)).collect(),
        }
    }

    #[test]
    fn reports_carry_their_label_probabilities() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reports.csv");
        let reports = [
            report("valid_1_a_1", &[("Lung nodule", 0.75), ("Emphysema", 0.5)]),
            report("valid_2_a_1", &[("Lung nodule", 0.25), ("Emphysema", 1.0)]),
        ];
        write_reports_csv(&path, &reports).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let mut lines = text.lines();
        assert_eq!(
            lines.next(),
            Some("VolumeName,generated,reference,Lung nodule,Emphysema")
        );
        assert_eq!(
            lines.next(),
            Some("valid_1_a_1,\"No effusion, \"\"small\"\" nodule.\",No effusion.,0.75,0.5")
        );
        let jsonl = dir.path().join("reports.jsonl");
        write_reports_jsonl(&jsonl, &reports).unwrap();
        let back: Vec<GeneratedReport> = std::fs::read_to_string(&jsonl)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(back, reports);
        // Without probabilities the files keep their three columns and fields.
        let plain = [report("valid_3_a_1", &[])];
        write_reports_csv(&path, &plain).unwrap();
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("VolumeName,generated,reference\n")
        );
        write_reports_jsonl(&jsonl, &plain).unwrap();
        assert!(
            !std::fs::read_to_string(&jsonl)
                .unwrap()
                .contains("probabilities")
        );
        // Reports naming other labels are refused.
        let mixed = [
            reports[0].clone(),
            report("valid_4_a_1", &[("Emphysema", 0.1)]),
        ];
        assert!(write_reports_csv(&path, &mixed).is_err());
    }
}
