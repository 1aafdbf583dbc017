//! Loss curves as PNG: training loss per step and validation loss per epoch, drawn
//! into an RGB raster and encoded with `png` (no system libraries or fonts needed).

use std::path::Path;

use crate::error::{Result, TrainError, io_err};

const W: usize = 800;
const H: usize = 480;
const MARGIN: usize = 40;

struct Canvas {
    px: Vec<u8>,
}

impl Canvas {
    fn new() -> Self {
        Self {
            px: vec![255; W * H * 3],
        }
    }

    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < W && (y as usize) < H {
            let i = (y as usize * W + x as usize) * 3;
            self.px[i..i + 3].copy_from_slice(&c);
        }
    }

    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), c: [u8; 3], thick: i64) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=n {
            let t = i as f64 / n as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            for dx in -thick / 2..=thick / 2 {
                for dy in -thick / 2..=thick / 2 {
                    self.set(x.round() as i64 + dx, y.round() as i64 + dy, c);
                }
            }
        }
    }
}

/// Draws `train` (step, loss) as a blue line and `val` (step, loss) as red dots joined by
/// a thin line, on shared axes with light grid lines at quarter ranges.
pub fn draw_loss_png(train: &[(f64, f64)], val: &[(f64, f64)], out: &Path) -> Result<()> {
    let all = train.iter().chain(val);
    let (mut xmin, mut xmax, mut ymin, mut ymax) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        if y.is_finite() {
            xmin = xmin.min(x);
            xmax = xmax.max(x);
            ymin = ymin.min(y);
            ymax = ymax.max(y);
        }
    }
    if xmin > xmax {
        return Err(TrainError::Data {
            what: out.display().to_string(),
            reason: "no finite losses to plot".into(),
        });
    }
    if xmax - xmin < 1e-12 {
        xmax = xmin + 1.0;
    }
    if ymax - ymin < 1e-12 {
        ymax = ymin + 1.0;
    }
    let (pw, ph) = ((W - 2 * MARGIN) as f64, (H - 2 * MARGIN) as f64);
    let map = |(x, y): (f64, f64)| {
        (
            MARGIN as f64 + (x - xmin) / (xmax - xmin) * pw,
            (H - MARGIN) as f64 - (y - ymin) / (ymax - ymin) * ph,
        )
    };
    let mut c = Canvas::new();
    for q in 0..=4 {
        let f = q as f64 / 4.0;
        let gy = (H - MARGIN) as f64 - f * ph;
        let gx = MARGIN as f64 + f * pw;
        c.line(
            (MARGIN as f64, gy),
            ((W - MARGIN) as f64, gy),
            [225, 225, 225],
            1,
        );
        c.line(
            (gx, MARGIN as f64),
            (gx, (H - MARGIN) as f64),
            [225, 225, 225],
            1,
        );
    }
    let (x0, y0) = (MARGIN as f64, (H - MARGIN) as f64);
    c.line((x0, y0), ((W - MARGIN) as f64, y0), [0, 0, 0], 2);
    c.line((x0, y0), (x0, MARGIN as f64), [0, 0, 0], 2);
    for w in train.windows(2) {
        c.line(map(w[0]), map(w[1]), [31, 119, 180], 2);
    }
    for w in val.windows(2) {
        c.line(map(w[0]), map(w[1]), [214, 39, 40], 1);
    }
    for &p in val {
        let (x, y) = map(p);
        for dx in -3..=3i64 {
            for dy in -3..=3i64 {
                if dx * dx + dy * dy <= 9 {
                    c.set(x.round() as i64 + dx, y.round() as i64 + dy, [214, 39, 40]);
                }
            }
        }
    }
    let file = std::fs::File::create(out).map_err(io_err(out))?;
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), W as u32, H as u32);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let png_err = |e: png::EncodingError| TrainError::Io {
        path: out.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    };
    let mut writer = enc.write_header().map_err(png_err)?;
    writer.write_image_data(&c.px).map_err(png_err)?;
    writer.finish().map_err(png_err)
}

/// Reads a run's `metrics.jsonl` and draws its loss curve.
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
    draw_loss_png(&train, &val, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_decodable_png_with_both_curves() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().join("loss.png");
        let train: Vec<_> = (0..50)
            .map(|i| (i as f64, 3.0 / (1.0 + i as f64)))
            .collect();
        draw_loss_png(&train, &[(25.0, 0.5), (50.0, 0.3)], &out).unwrap();
        let dec = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&out).unwrap()));
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (800, 480));
        let px = &buf[..info.buffer_size()];
        let count = |c: [u8; 3]| px.chunks(3).filter(|p| *p == c).count();
        assert!(count([31, 119, 180]) > 500, "training curve drawn");
        assert!(count([214, 39, 40]) > 30, "validation points drawn");
        assert!(draw_loss_png(&[], &[], &out).is_err());
    }
}
