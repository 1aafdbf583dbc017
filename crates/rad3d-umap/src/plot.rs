//! An embedding as scatter panels: one panel per pair of components (one for two
//! components, three for three), points coloured by a group. SVG through `plotters`,
//! which needs no system fonts.

use std::path::Path;

use plotters::prelude::*;
use rad3d_io::chart::{self, fail};

use crate::error::{Result, UmapError};
use crate::umap::Embedding;

/// Pixels per panel side.
const PANEL: u32 = 420;

/// Writes the scatter panels of `embedding` to `path` (SVG, replaced atomically).
/// `groups[i]` is point `i`'s group (an index into `group_names`, which the legend lists).
///
/// # Errors
/// [`UmapError::Data`] when `groups` does not hold one valid group per point or the
/// embedding has fewer than two components; [`UmapError::Chart`] when drawing fails;
/// [`UmapError::Io`] when the file cannot be written.
pub fn write_scatter_svg(
    path: impl AsRef<Path>,
    title: &str,
    embedding: &Embedding,
    groups: &[usize],
    group_names: &[String],
) -> Result<()> {
    let path = path.as_ref();
    if groups.len() != embedding.n || groups.iter().any(|&g| g >= group_names.len()) {
        return Err(UmapError::Data(format!(
            "{} group indices (of {} groups) for {} points",
            groups.len(),
            group_names.len(),
            embedding.n
        )));
    }
    if embedding.dims < 2 {
        return Err(UmapError::Data(
            "a scatter plot needs at least two components".into(),
        ));
    }
    let pairs: Vec<(usize, usize)> = if embedding.dims == 2 {
        vec![(0, 1)]
    } else {
        vec![(0, 1), (0, 2), (1, 2)]
    };
    let svg = render(title, embedding, groups, group_names, &pairs).map_err(|reason| {
        UmapError::Chart {
            path: path.to_path_buf(),
            reason,
        }
    })?;
    Ok(rad3d_io::write_atomic(path, svg.as_bytes())?)
}

fn render(
    title: &str,
    e: &Embedding,
    groups: &[usize],
    names: &[String],
    pairs: &[(usize, usize)],
) -> std::result::Result<String, String> {
    let width = PANEL * pairs.len() as u32;
    chart::svg((width, PANEL + 40), |page| {
        let root = page.titled(title, ("sans-serif", 18)).map_err(fail)?;
        let panels = root.split_evenly((1, pairs.len()));
        for (panel, &(x, y)) in panels.iter().zip(pairs) {
            let range = |c: usize| {
                let (lo, hi) = (0..e.n).fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), i| {
                    (lo.min(e.point(i)[c]), hi.max(e.point(i)[c]))
                });
                let pad = ((hi - lo) * 0.05).max(1e-3);
                (lo - pad) as f64..(hi + pad) as f64
            };
            let mut plot = ChartBuilder::on(panel)
                .margin(10)
                .x_label_area_size(35)
                .y_label_area_size(45)
                .build_cartesian_2d(range(x), range(y))
                .map_err(fail)?;
            plot.configure_mesh()
                .x_desc(format!("UMAP-{}", x + 1))
                .y_desc(format!("UMAP-{}", y + 1))
                .draw()
                .map_err(fail)?;
            for (g, name) in names.iter().enumerate() {
                let color = chart::color(g);
                plot.draw_series((0..e.n).filter(|&i| groups[i] == g).map(|i| {
                    let p = e.point(i);
                    Circle::new((p[x] as f64, p[y] as f64), 3, color.mix(0.8).filled())
                }))
                .map_err(fail)?
                .label(name.clone())
                .legend(move |(lx, ly)| Circle::new((lx + 6, ly), 4, color.filled()));
            }
            chart::legend(&mut plot, SeriesLabelPosition::UpperRight)?;
        }
        Ok(())
    })
}
