//! Loss curves as SVG: training loss per step and validation loss per epoch on labelled
//! axes with tick values and a legend, drawn with `plotters`' SVG backend (no system
//! libraries or fonts needed).

use std::path::Path;

use plotters::prelude::*;
use rad3d_io::chart::{self, fail};

use crate::error::{Result, TrainError, io_err};

const W: u32 = 800;
const H: u32 = 480;
const TRAIN_COLOR: RGBColor = RGBColor(31, 119, 180);
const VAL_COLOR: RGBColor = RGBColor(214, 39, 40);

/// Draws `train` (step, loss) as a blue line and `val` (step, loss) as red dots joined by
/// a thin line, on shared axes (`step`, `loss`) with grid lines, tick values and a legend,
/// and writes the SVG to `out` atomically (a temporary file beside it, then a rename).
/// Non-finite losses are left out.
///
/// # Errors
/// [`TrainError::Data`] when no loss is finite or drawing fails, [`TrainError::Io`] when
/// `out` cannot be written.
pub fn draw_loss_svg(train: &[(f64, f64)], val: &[(f64, f64)], out: &Path) -> Result<()> {
    let finite = |pts: &[(f64, f64)]| -> Vec<(f64, f64)> {
        pts.iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    };
    let (train, val) = (finite(train), finite(val));
    let data_err = |reason: String| TrainError::Data {
        what: out.display().to_string(),
        reason,
    };
    let (mut xmin, mut xmax, mut ymin, mut ymax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in train.iter().chain(&val) {
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        ymin = ymin.min(y);
        ymax = ymax.max(y);
    }
    if xmin > xmax {
        return Err(data_err("no finite losses to plot".into()));
    }
    if xmax - xmin < 1e-12 {
        xmax = xmin + 1.0;
    }
    if ymax - ymin < 1e-12 {
        ymax = ymin + 1.0;
    }
    // A little headroom so the extreme points are not drawn on the frame.
    let pad = (ymax - ymin) * 0.05;
    let svg = chart::svg((W, H), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Loss", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(xmin..xmax, (ymin - pad)..(ymax + pad))
            .map_err(fail)?;
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("loss")
            .x_label_formatter(&|x| format!("{x}"))
            .y_label_formatter(&|y| format!("{y:.3}"))
            .draw()
            .map_err(fail)?;
        if !train.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    train.iter().copied(),
                    TRAIN_COLOR.stroke_width(2),
                ))
                .map_err(fail)?
                .label("training loss")
                .legend(|(x, y)| {
                    PathElement::new([(x, y), (x + 16, y)], TRAIN_COLOR.stroke_width(2))
                });
        }
        if !val.is_empty() {
            chart
                .draw_series(LineSeries::new(
                    val.iter().copied(),
                    VAL_COLOR.stroke_width(1),
                ))
                .map_err(fail)?
                .label("validation loss")
                .legend(|(x, y)| Circle::new((x + 8, y), 3, VAL_COLOR.filled()));
            chart
                .draw_series(val.iter().map(|&p| Circle::new(p, 3, VAL_COLOR.filled())))
                .map_err(fail)?;
        }
        chart::legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
    .map_err(|e| data_err(format!("cannot draw the loss curve: {e}")))?;
    Ok(rad3d_io::write_atomic(out, svg.as_bytes())?)
}

/// The former name of [`draw_loss_svg`], which it calls: the curve is SVG whatever the
/// file is called.
///
/// # Errors
/// Reads a run's `metrics.jsonl` and draws its loss curve as SVG (see [`draw_loss_svg`]).
///
/// # Errors
/// [`TrainError::Io`] when `metrics` cannot be read or `out` written,
/// [`TrainError::Data`] when there is no finite loss to plot.
pub fn plot_metrics(metrics: &Path, out: &Path) -> Result<()> {
    let text = std::fs::read_to_string(metrics).map_err(io_err(metrics))?;
    let mut train = Vec::new();
    let mut val = Vec::new();
    for line in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let step = v.get("step").and_then(|s| s.as_f64()).unwrap_or(0.0);
        if v.get("train_loss").is_some() {
            if let Some(l) = v.get("val_loss").and_then(|l| l.as_f64()) {
                val.push((step, l));
            }
        } else if let Some(l) = v.get("loss").and_then(|l| l.as_f64()) {
            train.push((step, l));
        }
    }
    draw_loss_svg(&train, &val, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_an_svg_with_axes_and_both_curves() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("loss.svg");
        let train: Vec<_> = (0..50)
            .map(|i| (i as f64, 3.0 / (1.0 + i as f64)))
            .collect();
        draw_loss_svg(&train, &[(25.0, 0.5), (50.0, 0.3), (60.0, f64::NAN)], &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains(r#"width="800" height="480""#));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        let texts = rad3d_testutil::svg_texts(&svg);
        for needle in ["step", "loss", "training loss", "validation loss", "Loss"] {
            assert!(
                texts.iter().any(|t| t == needle),
                "missing {needle} in {texts:?}"
            );
        }
        // Tick values on both axes.
        assert!(texts.iter().any(|t| t == "20"), "x ticks in {texts:?}");
        assert!(texts.iter().any(|t| t == "1.000"), "y ticks in {texts:?}");
        // The training line in its colour, the validation points as circles.
        assert!(svg.contains("#1F77B4"), "training curve drawn");
        assert!(
            svg.matches("<circle").count() >= 2,
            "validation points drawn"
        );
        assert_eq!(
            std::fs::read_dir(d.path()).unwrap().count(),
            1,
            "no temporary file left"
        );
        assert!(draw_loss_svg(&[], &[], &out).is_err());
        assert!(draw_loss_svg(&train, &[], &d.path().join("missing/x.svg")).is_err());
    }

    #[test]
    fn plots_a_metrics_file() {
        let d = tempfile::tempdir().unwrap();
        let metrics = d.path().join("metrics.jsonl");
        std::fs::write(
            &metrics,
            "{\"step\": 1, \"loss\": 2.0}\n{\"step\": 2, \"loss\": 1.5}\nnot json\n\
             {\"step\": 2, \"train_loss\": 1.7, \"val_loss\": 1.8}\n",
        )
        .unwrap();
        let out = d.path().join("loss.svg");
        plot_metrics(&metrics, &out).unwrap();
        let svg = std::fs::read_to_string(&out).unwrap();
        let texts = rad3d_testutil::svg_texts(&svg);
        assert!(texts.iter().any(|t| t == "training loss"), "{texts:?}");
        assert!(texts.iter().any(|t| t == "validation loss"), "{texts:?}");
    }
}
