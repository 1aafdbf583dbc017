//! Per-label bar chart (PNG) of an [`Evaluation`], rendered without system fonts: text uses
//! the public-domain 8×8 bitmap font of `font8x8`, encoding uses `png`.

use std::io::BufWriter;
use std::path::Path;

use crate::error::{ClassifierError, Result};
use crate::metrics::Evaluation;

const ROW: usize = 22;
const BAR: usize = 8;
const LABEL_W: usize = 8 * 36;
const PLOT_W: usize = 480;
const MARGIN: usize = 12;
const HEADER: usize = 56;
const WHITE: [u8; 3] = [255, 255, 255];
const BLACK: [u8; 3] = [20, 20, 20];
const GRID: [u8; 3] = [220, 220, 220];
const AUROC_COLOR: [u8; 3] = [52, 101, 164];
const F1_COLOR: [u8; 3] = [230, 145, 56];

/// An RGB raster with just the drawing operations the chart needs.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            pixels: WHITE.repeat(width * height),
        }
    }

    fn rect(&mut self, x: usize, y: usize, w: usize, h: usize, color: [u8; 3]) {
        for yy in y..(y + h).min(self.height) {
            for xx in x..(x + w).min(self.width) {
                let i = (yy * self.width + xx) * 3;
                self.pixels[i..i + 3].copy_from_slice(&color);
            }
        }
    }

    /// Draws ASCII text with its top-left corner at (x, y), each font pixel `scale`² pixels.
    fn text(&mut self, x: usize, y: usize, text: &str, scale: usize, color: [u8; 3]) {
        for (k, ch) in text.chars().enumerate() {
            let glyph = font8x8::legacy::BASIC_LEGACY
                .get(ch as usize)
                .copied()
                .unwrap_or(font8x8::legacy::BASIC_LEGACY[b'?' as usize]);
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    // Bit 0 is the leftmost pixel in font8x8.
                    if bits & (1 << col) != 0 {
                        let px = x + (k * 8 + col) * scale;
                        self.rect(px, y + row * scale, scale, scale, color);
                    }
                }
            }
        }
    }
}

fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        name.to_string()
    } else {
        let mut s: String = name.chars().take(max - 1).collect();
        s.push('~');
        s
    }
}

/// Writes a horizontal bar chart with one row per label: AUROC (blue) and F1 (orange) on a
/// 0–1 axis, with the values printed beside the bars.
pub fn write_bar_chart(evaluation: &Evaluation, title: &str, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let rows = evaluation.per_label.len() + 2;
    let width = MARGIN * 2 + LABEL_W + PLOT_W + 8 * 12;
    let height = HEADER + rows * ROW + MARGIN + 16;
    let mut c = Canvas::new(width, height);
    c.text(
        MARGIN,
        MARGIN,
        &shorten(title, (width - 2 * MARGIN) / 16),
        2,
        BLACK,
    );
    c.rect(MARGIN, 36, 10, 8, AUROC_COLOR);
    c.text(MARGIN + 14, 36, "AUROC", 1, BLACK);
    c.rect(MARGIN + 70, 36, 10, 8, F1_COLOR);
    c.text(
        MARGIN + 84,
        36,
        &format!("F1 @ {:.2}", evaluation.threshold),
        1,
        BLACK,
    );
    let x0 = MARGIN + LABEL_W;
    let plot_h = rows * ROW;
    for tick in 0..=10 {
        let x = x0 + tick * PLOT_W / 10;
        c.rect(x, HEADER, 1, plot_h, GRID);
        if tick % 2 == 0 {
            c.text(
                x.saturating_sub(12),
                HEADER + plot_h + 4,
                &format!("{:.1}", tick as f64 / 10.0),
                1,
                BLACK,
            );
        }
    }
    let macro_row = (
        "macro average".to_string(),
        evaluation.macro_avg.auroc,
        evaluation.macro_avg.f1,
    );
    let micro_row = (
        "micro average".to_string(),
        evaluation.micro_avg.auroc,
        evaluation.micro_avg.f1,
    );
    let all = evaluation
        .per_label
        .iter()
        .map(|m| (m.name.clone(), m.auroc, m.f1))
        .chain([macro_row, micro_row]);
    for (i, (name, auroc, f1)) in all.enumerate() {
        let y = HEADER + i * ROW + 2;
        c.text(MARGIN, y + 6, &shorten(&name, 35), 1, BLACK);
        let bar = |v: f64| ((v.clamp(0.0, 1.0)) * PLOT_W as f64).round() as usize;
        let auroc_text = match auroc {
            Some(a) => {
                c.rect(x0, y, bar(a), BAR, AUROC_COLOR);
                format!("{a:.3}")
            }
            None => "n/a".to_string(),
        };
        c.rect(x0, y + BAR + 1, bar(f1), BAR, F1_COLOR);
        c.text(x0 + PLOT_W + 6, y, &auroc_text, 1, AUROC_COLOR);
        c.text(
            x0 + PLOT_W + 6,
            y + BAR + 1,
            &format!("{f1:.3}"),
            1,
            F1_COLOR,
        );
    }
    let file = std::fs::File::create(path).map_err(|e| ClassifierError::io(path, e))?;
    let mut encoder = png::Encoder::new(BufWriter::new(file), width as u32, height as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let chart_err = |e: png::EncodingError| ClassifierError::Chart {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut writer = encoder.write_header().map_err(chart_err)?;
    writer.write_image_data(&c.pixels).map_err(chart_err)?;
    writer.finish().map_err(chart_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelSet;
    use crate::metrics::evaluate;

    #[test]
    fn writes_a_decodable_png_with_bars() {
        let set = LabelSet::from_names(&["Lung nodule", "Emphysema"]).unwrap();
        let probs = [0.9, 0.2, 0.1, 0.7, 0.8, 0.6];
        let labels = [1.0, 0.0, 0.0, 1.0, 1.0, 0.0];
        let e = evaluate(&probs, &labels, &set, 0.5).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chart.png");
        write_bar_chart(&e, "validation", &path).unwrap();
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(info.width as usize, MARGIN * 2 + LABEL_W + PLOT_W + 96);
        // Label 0 has AUROC 1.0: its bar spans the whole plot width in the bar colour.
        let y = HEADER + 2 + 1;
        let x = MARGIN + LABEL_W + PLOT_W - 2;
        let i = (y * info.width as usize + x) * 3;
        assert_eq!(&buf[i..i + 3], &AUROC_COLOR);
        assert!(write_bar_chart(&e, "x", dir.path().join("missing/dir/c.png")).is_err());
    }
}
