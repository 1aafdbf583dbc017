//! What every chart of the project shares (feature `chart`): SVG on a white page through
//! `plotters`, which measures text itself and needs no system fonts; one palette; one
//! legend box; drawing errors as text for each crate's own error type.

use plotters::coord::Shift;
use plotters::prelude::*;

/// Series colours, in order of use (cycled).
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(52, 101, 164),
    RGBColor(230, 145, 56),
    RGBColor(78, 154, 6),
    RGBColor(204, 0, 0),
    RGBColor(117, 80, 123),
    RGBColor(136, 138, 133),
];

/// Colour `i` of [`PALETTE`], cycled.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// A drawing failure as text (for `map_err`).
pub fn fail(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Where row `i` of `n` sits on a category axis: centred at `y = n − i`, so the first row
/// is on top and the axis's whole-number ticks fall on rows.
pub fn row_center(n: usize, i: usize) -> f64 {
    (n - i) as f64
}

/// Tick labels of a category axis laid out by [`row_center`]: a tick at a whole `y` in
/// `1..=n` names its row, any other tick is blank.
pub fn row_label(names: &[String]) -> impl Fn(&f64) -> String + '_ {
    let n = names.len();
    move |y: &f64| {
        let k = y.round();
        if (y - k).abs() > 1e-6 || k < 1.0 || k > n as f64 {
            return String::new();
        }
        names[n - k as usize].clone()
    }
}

/// An SVG document of `size` pixels: a white page that `draw` fills, then presented.
///
/// # Errors
/// Whatever `draw` or `plotters` reports, as text.
pub fn svg(
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<(), String>,
) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(fail)?;
        draw(&root)?;
        root.present().map_err(fail)?;
    }
    Ok(out)
}

/// The series legend at `position`: a white, slightly transparent box with a black border.
///
/// # Errors
/// What `plotters` reports, as text.
pub fn legend<'a, DB, CT>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), String>
where
    DB: DrawingBackend + 'a,
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()
        .map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_page_is_an_svg_of_that_size() {
        let s = svg((120, 80), |_| Ok(())).unwrap();
        assert!(s.contains("<svg") && s.contains("width=\"120\"") && s.contains("height=\"80\""));
        let e = svg((10, 10), |_| Err("no data".into())).unwrap_err();
        assert_eq!(e, "no data");
        assert_eq!(color(7), PALETTE[1]);
        let names = ["top".to_string(), "bottom".to_string()];
        let label = row_label(&names);
        assert_eq!(label(&row_center(2, 0)), "top");
        assert_eq!(label(&row_center(2, 1)), "bottom");
        assert_eq!(label(&1.5), "");
        assert_eq!(label(&3.0), "");
    }
}
