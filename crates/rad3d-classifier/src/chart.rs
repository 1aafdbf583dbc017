//! Per-label bar chart (SVG) of an [`Evaluation`]: AUROC and F1 per label plus the macro and
//! micro averages, on a labelled 0–1 score axis with tick values, printed bar values and a
//! legend. Drawn with `plotters`' SVG backend, which needs no system fonts.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rad3d_io::chart::{self, fail};

use crate::error::{ClassifierError, Result};
use crate::metrics::Evaluation;

const WIDTH: u32 = 960;
/// Pixels per label row.
const ROW: u32 = 30;
/// Title, x axis and margins.
const CHROME: u32 = 130;
/// Room for label names left of the bars.
const LABEL_AREA: u32 = 300;
const AUROC_COLOR: RGBColor = chart::PALETTE[0];
const F1_COLOR: RGBColor = chart::PALETTE[1];
/// Half the height of a row that each bar takes (in row units).
const BAR: f64 = 0.36;

/// One row of the chart: name, AUROC (undefined for single-class labels) and F1.
type Row = (String, Option<f64>, f64);

/// Writes a horizontal bar chart with one row per label, then the macro and micro averages:
/// AUROC (blue) and F1 at the evaluation's threshold (orange) on a 0–1 axis with the values
/// printed beside the bars. The file is SVG whatever its name, and is replaced atomically
/// (written beside `path`, then renamed).
///
/// # Errors
/// [`ClassifierError::Chart`] when drawing fails, [`ClassifierError::Io`] when the file
/// cannot be written.
pub fn write_bar_chart(evaluation: &Evaluation, title: &str, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let rows: Vec<Row> = evaluation
        .per_label
        .iter()
        .map(|m| (m.name.clone(), m.auroc, m.f1))
        .chain([
            (
                "macro average".to_string(),
                evaluation.macro_avg.auroc,
                evaluation.macro_avg.f1,
            ),
            (
                "micro average".to_string(),
                evaluation.micro_avg.auroc,
                evaluation.micro_avg.f1,
            ),
        ])
        .collect();
    let svg =
        render(&rows, title, evaluation.threshold).map_err(|reason| ClassifierError::Chart {
            path: path.to_path_buf(),
            reason,
        })?;
    Ok(rad3d_io::write_atomic(path, svg.as_bytes())?)
}

/// The chart as SVG text; errors are plotters' messages.
fn render(rows: &[Row], title: &str, threshold: f32) -> std::result::Result<String, String> {
    let n = rows.len();
    let center = |i: usize| chart::row_center(n, i);
    let names: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
    let name_at = chart::row_label(&names);
    let height = CHROME + ROW * n as u32;
    chart::svg((WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(LABEL_AREA)
            // Beyond 1.0: room for the printed values.
            .build_cartesian_2d(0f64..1.12, 0.5..n as f64 + 0.5)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("score")
            .y_desc("label")
            .x_labels(12)
            .x_label_formatter(&|x| format!("{x:.1}"))
            .y_labels(n + 1)
            .y_label_formatter(&name_at)
            .draw()
            .map_err(fail)?;
        let bar = |i: usize, v: f64, upper: bool, color: RGBColor| {
            let c = center(i);
            let (lo, hi) = if upper { (c, c + BAR) } else { (c - BAR, c) };
            Rectangle::new([(0.0, lo), (v.clamp(0.0, 1.0), hi)], color.filled())
        };
        let value = |i: usize, v: Option<f64>, upper: bool, color: RGBColor| {
            let y = center(i) + if upper { BAR / 2.0 } else { -BAR / 2.0 };
            let text = v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
            let style = ("sans-serif", 12)
                .into_font()
                .color(&color)
                .pos(Pos::new(HPos::Left, VPos::Center));
            Text::new(text, (v.unwrap_or(0.0).clamp(0.0, 1.0) + 0.01, y), style)
        };
        chart
            .draw_series(
                rows.iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.1.map(|a| bar(i, a, true, AUROC_COLOR))),
            )
            .map_err(fail)?
            .label("AUROC")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], AUROC_COLOR.filled()));
        chart
            .draw_series(
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| bar(i, r.2, false, F1_COLOR)),
            )
            .map_err(fail)?
            .label(format!("F1 @ {threshold:.2}"))
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], F1_COLOR.filled()));
        chart
            .draw_series(rows.iter().enumerate().flat_map(|(i, r)| {
                [
                    value(i, r.1, true, AUROC_COLOR),
                    value(i, Some(r.2), false, F1_COLOR),
                ]
            }))
            .map_err(fail)?;
        chart::legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelSet;
    use crate::metrics::evaluate;

    #[test]
    fn writes_an_svg_with_axes_values_and_legend() {
        let set = LabelSet::from_names(&["Lung nodule", "Emphysema <&>"]).unwrap();
        let probs = [0.9, 0.2, 0.1, 0.7, 0.8, 0.6];
        let labels = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let e = evaluate(&probs, &labels, &set, 0.5).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.svg");
        write_bar_chart(&e, "validation", &path).unwrap();
        let svg = std::fs::read_to_string(&path).unwrap();
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
        let texts = rad3d_testutil::svg_texts(&svg);
        for needle in [
            "validation",
            "score",
            "label",
            "AUROC",
            "F1 @ 0.50",
            "Lung nodule",
            "Emphysema &lt;&amp;&gt;",
            "macro average",
            "micro average",
            "0.0",
            "0.5",
            "1.0",
            // Lung nodule's AUROC.
            "1.000",
        ] {
            assert!(
                texts.iter().any(|t| t == needle),
                "missing {needle} in {texts:?}"
            );
        }
        // Nothing but the chart is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        assert!(write_bar_chart(&e, "x", dir.path().join("missing/dir/c.svg")).is_err());
    }
}
