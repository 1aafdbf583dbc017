//! Prefix-length × mapper-depth sweeps (paper Fig. 12): the grid with its parameter
//! counts, and the chart of the scored grid.

use std::path::Path;

use plotters::prelude::*;
use rad3d_io::chart::{self, fail};
use rad3d_projector::{ProjectorConfig, Variant};

use crate::error::{Result, TrainError};

/// The paper's prefix lengths.
pub const PAPER_PREFIX_LENS: [usize; 5] = [2, 5, 7, 10, 14];
/// The paper's mapper depths.
pub const PAPER_DEPTHS: [usize; 4] = [2, 4, 8, 16];

/// One setting of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Prefix (and clip) length.
    pub prefix_len: usize,
    /// Transformer depth.
    pub num_layers: usize,
    /// The projector to train.
    pub config: ProjectorConfig,
    /// Its trainable parameters (the LLM's too when the variant trains it: add them).
    pub trainable_params: usize,
}

/// Every (prefix length, depth) pair for `variant`, prefix-major.
pub fn sweep(
    variant: Variant,
    d_latent: usize,
    num_labels: usize,
    d_model: usize,
    prefix_lens: &[usize],
    depths: &[usize],
) -> Vec<SweepPoint> {
    let mut out = Vec::new();
    for &p in prefix_lens {
        for &l in depths {
            let config = variant.projector_config(d_latent, num_labels, d_model, p, l);
            out.push(SweepPoint {
                prefix_len: p,
                num_layers: l,
                trainable_params: config.num_params(),
                config,
            });
        }
    }
    out
}

/// One trained and scored cell of a sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepResult {
    /// Prefix length.
    pub prefix_len: usize,
    /// Mapper depth.
    pub num_layers: usize,
    /// Trainable parameters of the cell's run.
    pub trainable_params: usize,
    /// Validation scores by name, in chart order (e.g. BLEU-4, METEOR, ROUGE-L).
    pub scores: Vec<(String, f64)>,
}

/// Writes Fig. 12 as SVG (replaced atomically): one panel per score, the score against the
/// prefix length with one line per depth, each point labelled with its trainable
/// parameters (millions).
///
/// # Errors
/// [`TrainError::Data`] when there is nothing to draw, the cells name different scores or
/// drawing fails; [`TrainError::Io`] when the file cannot be written.
pub fn write_sweep_svg(results: &[SweepResult], path: &Path) -> Result<()> {
    let data_err = |reason: String| TrainError::Data {
        what: path.display().to_string(),
        reason,
    };
    let Some(first) = results.first() else {
        return Err(data_err("no sweep cells to draw".into()));
    };
    let names: Vec<&str> = first.scores.iter().map(|(n, _)| n.as_str()).collect();
    if results.iter().any(|r| {
        r.scores
            .iter()
            .map(|(n, _)| n.as_str())
            .ne(names.iter().copied())
    }) {
        return Err(data_err("the sweep cells name different scores".into()));
    }
    let mut depths: Vec<usize> = results.iter().map(|r| r.num_layers).collect();
    depths.sort_unstable();
    depths.dedup();
    let lens = || results.iter().map(|r| r.prefix_len as f64);
    let (x_lo, x_hi) = lens().fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
    let x_pad = ((x_hi - x_lo) * 0.08).max(0.5);
    let panel = 420u32;
    let svg = chart::svg((panel * names.len().max(1) as u32, panel + 40), |page| {
        let root = page
            .titled("Prefix length × mapper depth (Fig. 12)", ("sans-serif", 18))
            .map_err(fail)?;
        for (k, (area, name)) in root
            .split_evenly((1, names.len()))
            .iter()
            .zip(&names)
            .enumerate()
        {
            let value = |r: &SweepResult| r.scores[k].1;
            let finite: Vec<f64> = results
                .iter()
                .map(value)
                .filter(|v| v.is_finite())
                .collect();
            let (lo, hi) = finite
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
            let (lo, hi) = if finite.is_empty() {
                (0.0, 1.0)
            } else {
                (lo, hi)
            };
            let pad = ((hi - lo) * 0.15).max(1e-3);
            let mut plot = ChartBuilder::on(area)
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(55)
                .build_cartesian_2d((x_lo - x_pad)..(x_hi + x_pad), (lo - pad)..(hi + pad))
                .map_err(fail)?;
            plot.configure_mesh()
                .x_desc("prefix length")
                .y_desc(*name)
                .y_label_formatter(&|y| format!("{y:.3}"))
                .draw()
                .map_err(fail)?;
            for (d, &depth) in depths.iter().enumerate() {
                let color = chart::color(d);
                let mut line: Vec<(f64, f64, usize)> = results
                    .iter()
                    .filter(|r| r.num_layers == depth && value(r).is_finite())
                    .map(|r| (r.prefix_len as f64, value(r), r.trainable_params))
                    .collect();
                line.sort_by(|a, b| a.0.total_cmp(&b.0));
                plot.draw_series(LineSeries::new(
                    line.iter().map(|&(x, y, _)| (x, y)),
                    color.stroke_width(2),
                ))
                .map_err(fail)?
                .label(format!("depth {depth}"))
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], color.stroke_width(2))
                });
                plot.draw_series(line.iter().map(|&(x, y, params)| {
                    EmptyElement::at((x, y))
                        + Circle::new((0, 0), 3, color.filled())
                        + Text::new(
                            format!("{:.2}M", params as f64 / 1e6),
                            (4, -12),
                            ("sans-serif", 10).into_font().color(&color),
                        )
                }))
                .map_err(fail)?;
            }
            chart::legend(&mut plot, SeriesLabelPosition::LowerRight)?;
        }
        Ok(())
    })
    .map_err(|e| data_err(format!("cannot draw the sweep: {e}")))?;
    Ok(rad3d_io::write_atomic(path, svg.as_bytes())?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_grid_for_llama_1b() {
        let pts = sweep(
            Variant::V3,
            512,
            18,
            2048,
            &PAPER_PREFIX_LENS,
            &PAPER_DEPTHS,
        );
        assert_eq!(pts.len(), 20);
        let p10_l8 = pts
            .iter()
            .find(|p| p.prefix_len == 10 && p.num_layers == 8)
            .unwrap();
        assert_eq!(p10_l8.trainable_params, 279_461_888);
        // Depth dominates: each layer of D = 2048 costs 33,570,816 parameters.
        let l4 = pts
            .iter()
            .find(|p| p.prefix_len == 10 && p.num_layers == 4)
            .unwrap();
        assert_eq!(
            p10_l8.trainable_params - l4.trainable_params,
            4 * 33_570_816
        );
        // Prefix length adds (d_in + 1)·D for the linear layer plus D for the constant.
        let p14 = pts
            .iter()
            .find(|p| p.prefix_len == 14 && p.num_layers == 8)
            .unwrap();
        assert_eq!(
            p14.trainable_params - p10_l8.trainable_params,
            4 * (531 * 2048 + 2048)
        );
    }

    #[test]
    fn the_chart_has_a_panel_per_score_and_a_line_per_depth() {
        let cell = |p: usize, l: usize, b: f64| SweepResult {
            prefix_len: p,
            num_layers: l,
            trainable_params: p * l * 1_000_000,
            scores: vec![("bleu_4".into(), b), ("meteor".into(), b / 2.0)],
        };
        let cells = [
            cell(2, 1, 0.1),
            cell(5, 1, 0.2),
            cell(2, 4, 0.15),
            cell(5, 4, f64::NAN),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sweep.svg");
        write_sweep_svg(&cells, &path).unwrap();
        let texts = rad3d_testutil::svg_texts(&std::fs::read_to_string(&path).unwrap());
        for want in [
            "bleu_4",
            "meteor",
            "prefix length",
            "depth 1",
            "depth 4",
            "2.00M",
            "8.00M",
        ] {
            assert!(texts.iter().any(|t| t == want), "{want} missing: {texts:?}");
        }
        // The NaN cell (20 M parameters) is left out, not drawn.
        assert!(!texts.iter().any(|t| t == "20.00M"), "{texts:?}");
        let mut other = cells.to_vec();
        other[1].scores[0].0 = "rouge_l".into();
        assert!(write_sweep_svg(&other, &path).is_err());
        assert!(write_sweep_svg(&[], &path).is_err());
    }
}
