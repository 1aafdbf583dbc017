//! Bootstrap intervals of several systems in one chart (the paper's Fig. 8 style): one row
//! per metric on the y axis, each system's value as a point with its confidence interval
//! as a horizontal bar, one colour per system. SVG through `plotters`, which needs no
//! system fonts.

use std::path::Path;

use plotters::prelude::*;
use rad3d_io::chart::{self, fail};

use super::Evaluation;
use crate::error::{MetricsError, Result};

const WIDTH: u32 = 900;
/// Pixels per metric row.
const ROW: u32 = 44;
/// Title, x axis, legend and margins.
const CHROME: u32 = 150;
/// Room for metric names left of the plot.
const LABEL_AREA: u32 = 130;
/// Values not on the 0–1 scale of the others (sacreBLEU is 0–100, CIDEr-D 0–10): left out
/// of the chart so the rest stay readable.
const OFF_SCALE: [&str; 2] = ["sacrebleu", "cider_d"];
/// Half the height of a row the systems' bars spread over (in row units).
const SPREAD: f64 = 0.3;

/// The metric names charted for `systems`: those of the first system with an interval in
/// every system, except the values on another scale (`sacrebleu`, `cider_d`).
fn charted(systems: &[(&str, &Evaluation)]) -> Result<Vec<String>> {
    for (name, e) in systems {
        if e.bootstrap.is_none() {
            return Err(MetricsError::Input(format!(
                "system `{name}` has no bootstrap intervals to chart"
            )));
        }
    }
    let Some((_, first)) = systems.first() else {
        return Err(MetricsError::Input("no systems to chart".into()));
    };
    Ok(first
        .values
        .iter()
        .map(|(n, _)| n.clone())
        .filter(|n| !OFF_SCALE.contains(&n.as_str()))
        .filter(|n| systems.iter().all(|(_, e)| e.interval(n).is_some()))
        .collect())
}

/// Writes the interval chart of `systems` (`(name, evaluation)`, each bootstrapped) to
/// `path` as SVG, replacing it atomically: metrics on the y axis (top to bottom in output
/// order, without `sacrebleu` and `cider_d`, which are on other scales), each system's
/// value as a dot with its interval as a bar.
///
/// # Errors
/// [`MetricsError::Input`] when no system is given or one has no bootstrap intervals;
/// [`MetricsError::Chart`] when drawing fails; [`MetricsError::Io`] when the file cannot be
/// written.
pub fn write_interval_chart(path: impl AsRef<Path>, systems: &[(&str, &Evaluation)]) -> Result<()> {
    let path = path.as_ref();
    let metrics = charted(systems)?;
    let svg = render(systems, &metrics).map_err(|reason| MetricsError::Chart {
        path: path.to_path_buf(),
        reason,
    })?;
    Ok(rad3d_io::write_atomic(path, svg.as_bytes())?)
}

/// The chart as SVG text; errors are plotters' messages.
fn render(
    systems: &[(&str, &Evaluation)],
    metrics: &[String],
) -> std::result::Result<String, String> {
    let n = metrics.len();
    let center = |i: usize| chart::row_center(n, i);
    let name_at = chart::row_label(metrics);
    // Each system's bars sit at their own offset within the row.
    let offset = |s: usize| {
        if systems.len() < 2 {
            0.0
        } else {
            SPREAD - 2.0 * SPREAD * s as f64 / (systems.len() - 1) as f64
        }
    };
    let x_max = systems
        .iter()
        .flat_map(|(_, e)| metrics.iter().filter_map(|m| e.interval(m)))
        .map(|i| i.upper.max(i.point))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // Round up to the next tenth, with room for nothing beyond 1 when the scores are.
    let x_max = ((x_max * 10.0).ceil() / 10.0).max(0.1);
    let confidence = systems
        .first()
        .and_then(|(_, e)| e.bootstrap.as_ref())
        .map_or(0.95, |b| b.confidence);
    let title = format!("Bootstrap {:.0} % confidence intervals", confidence * 100.0);

    let height = CHROME + ROW * n.max(1) as u32;
    chart::svg((WIDTH, height), |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(44)
            .y_label_area_size(LABEL_AREA)
            .build_cartesian_2d(0f64..x_max, 0.5..n as f64 + 0.5)
            .map_err(fail)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_desc("score")
            .y_desc("metric")
            .x_labels(11)
            .x_label_formatter(&|x| format!("{x:.2}"))
            .y_labels(n + 1)
            .y_label_formatter(&name_at)
            .draw()
            .map_err(fail)?;
        for (s, (name, e)) in systems.iter().enumerate() {
            let color = chart::color(s);
            let rows: Vec<(f64, f64, f64, f64)> = metrics
                .iter()
                .enumerate()
                .filter_map(|(i, m)| {
                    let iv = e.interval(m)?;
                    Some((center(i) + offset(s), iv.point, iv.lower, iv.upper))
                })
                .collect();
            chart
                .draw_series(rows.iter().map(|&(y, _, lo, hi)| {
                    PathElement::new(vec![(lo, y), (hi, y)], color.stroke_width(2))
                }))
                .map_err(fail)?;
            // Whiskers at both ends of each interval.
            chart
                .draw_series(rows.iter().flat_map(|&(y, _, lo, hi)| {
                    [lo, hi].map(|x| {
                        PathElement::new(vec![(x, y - 0.06), (x, y + 0.06)], color.stroke_width(2))
                    })
                }))
                .map_err(fail)?;
            chart
                .draw_series(
                    rows.iter()
                        .map(|&(y, p, _, _)| Circle::new((p, y), 4, color.filled())),
                )
                .map_err(fail)?
                .label(name.to_string())
                .legend(move |(x, y)| Circle::new((x + 6, y), 4, color.filled()));
        }
        chart::legend(&mut chart, SeriesLabelPosition::LowerRight)
    })
}
