//! Scoring a quickstart system: corpus BLEU-4, METEOR and ROUGE-L with bootstrap
//! intervals, and counting what trains.

use std::collections::BTreeMap;

use burn::module::AutodiffModule;
use burn::tensor::Tensor;
use burn::tensor::backend::AutodiffBackend;
use rad3d_metrics::meteor::Meteor;
use rad3d_metrics::significance::{ResampleConfig, bootstrap};
use rad3d_metrics::{Corpus, CorpusMetric, coco, text::basic_tokenize};

use crate::error::Result;

/// Corpus metrics of one system.
pub(super) struct SystemScores {
    pub(super) bleu_4: f64,
    pub(super) meteor: f64,
    pub(super) rouge_l: f64,
    /// 95% bootstrap interval of each metric above, by name.
    pub(super) ci: BTreeMap<String, [f64; 2]>,
}

/// Corpus metrics of one system, with bootstrap CIs.
pub(super) fn score_reports(
    refs: &[String],
    hyps: &[String],
    meteor: &Meteor,
    resamples: usize,
    seed: u64,
) -> Result<SystemScores> {
    let tok = |v: &[String]| v.iter().map(|s| basic_tokenize(s)).collect::<Vec<_>>();
    let corpus = Corpus::single(tok(hyps), tok(refs))?;
    let bleu = coco::CocoBleu::new(&corpus);
    let rouge = coco::coco_rouge_l(&corpus);
    let pairs: Vec<(Vec<&str>, &str)> = refs
        .iter()
        .zip(hyps)
        .map(|(r, h)| (vec![r.as_str()], h.as_str()))
        .collect();
    let m = meteor.corpus(&pairs)?;
    let bleu_4 = bleu.score()[3];
    let rouge_l = rouge.score()[0];
    let cfg = ResampleConfig {
        resamples,
        seed,
        confidence: 0.95,
    };
    let intervals = bootstrap(&[&bleu, &rouge, &m], &cfg)?;
    let mut ci = BTreeMap::new();
    for iv in intervals {
        if matches!(iv.name.as_str(), "bleu_4" | "rouge_l" | "meteor") {
            ci.insert(iv.name, [iv.interval.lower, iv.interval.upper]);
        }
    }
    Ok(SystemScores {
        bleu_4,
        meteor: m.score,
        rouge_l,
        ci,
    })
}

pub(super) fn trainable_params<B: AutodiffBackend, M: AutodiffModule<B>>(model: &M) -> usize {
    struct Count(usize);
    impl<B: AutodiffBackend> burn::module::ModuleVisitor<B> for Count {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<B, D>>) {
            if param.is_require_grad() {
                self.0 += param.shape().num_elements();
            }
        }
    }
    let mut c = Count(0);
    model.visit(&mut c);
    c.0
}
