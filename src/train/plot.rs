//! The loss curve as a PNG: training loss (blue) and held-out loss (orange) against steps, on
//! a light grid (vertical lines mark epochs). Drawn directly so no font or system library is
//! needed; the numbers are in `report.json`.

use std::path::Path;

use anyhow::Context;

const WIDTH: usize = 640;
const HEIGHT: usize = 400;
const MARGIN: usize = 40;

struct Canvas {
    pixels: Vec<[u8; 3]>,
}

impl Canvas {
    fn new() -> Self {
        Self {
            pixels: vec![[255, 255, 255]; WIDTH * HEIGHT],
        }
    }

    fn set(&mut self, x: i64, y: i64, color: [u8; 3]) {
        if (0..WIDTH as i64).contains(&x) && (0..HEIGHT as i64).contains(&y) {
            self.pixels[y as usize * WIDTH + x as usize] = color;
        }
    }

    /// A thick line by stepping along its longer axis.
    fn line(&mut self, (x0, y0): (f64, f64), (x1, y1): (f64, f64), color: [u8; 3], thickness: i64) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).ceil().max(1.0) as i64;
        for s in 0..=steps {
            let t = s as f64 / steps as f64;
            let (x, y) = (
                (x0 + t * (x1 - x0)).round() as i64,
                (y0 + t * (y1 - y0)).round() as i64,
            );
            for dx in -thickness / 2..=thickness / 2 {
                for dy in -thickness / 2..=thickness / 2 {
                    self.set(x + dx, y + dy, color);
                }
            }
        }
    }
}

/// Writes the curves to `path`: the training loss every `LOSS_EVERY` steps (blue) and the
/// held-out loss at the end of each epoch of `steps_per_epoch` steps (orange), against steps.
pub fn loss_png(
    path: &Path,
    step_loss: &[f32],
    holdout: &[f32],
    steps_per_epoch: usize,
) -> anyhow::Result<()> {
    let mut canvas = Canvas::new();
    let max = step_loss
        .iter()
        .chain(holdout)
        .copied()
        .fold(f32::EPSILON, f32::max) as f64
        * 1.05;
    let train_points: Vec<(usize, f32)> = step_loss
        .iter()
        .enumerate()
        .map(|(i, v)| ((i + 1) * super::LOSS_EVERY, *v))
        .collect();
    let holdout_points: Vec<(usize, f32)> = holdout
        .iter()
        .enumerate()
        .map(|(e, v)| ((e + 1) * steps_per_epoch, *v))
        .collect();
    let last_step = train_points
        .iter()
        .chain(&holdout_points)
        .map(|p| p.0)
        .max()
        .unwrap_or(1)
        .max(1);
    let (left, right, top, bottom) = (
        MARGIN as f64,
        (WIDTH - MARGIN) as f64,
        MARGIN as f64,
        (HEIGHT - MARGIN) as f64,
    );
    let x_of = |step: usize| left + (right - left) * step as f64 / last_step as f64;
    let y_of = |v: f32| bottom - (bottom - top) * (v as f64 / max);
    for g in 0..=4 {
        let y = top + (bottom - top) * g as f64 / 4.0;
        canvas.line((left, y), (right, y), [225, 225, 225], 1);
    }
    for &(step, _) in &holdout_points {
        canvas.line((x_of(step), top), (x_of(step), bottom), [235, 235, 235], 1);
    }
    canvas.line((left, bottom), (right, bottom), [0, 0, 0], 2);
    canvas.line((left, top), (left, bottom), [0, 0, 0], 2);
    for (points, color, marker) in [
        (&train_points, [31, 119, 180], 0.0),
        (&holdout_points, [255, 127, 14], 3.0),
    ] {
        for pair in points.windows(2) {
            canvas.line(
                (x_of(pair[0].0), y_of(pair[0].1)),
                (x_of(pair[1].0), y_of(pair[1].1)),
                color,
                2,
            );
        }
        for &(step, v) in points.iter() {
            let (x, y) = (x_of(step), y_of(v));
            canvas.line(
                (x - marker, y),
                (x + marker, y),
                color,
                if marker > 0.0 { 7 } else { 2 },
            );
        }
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH as u32, HEIGHT as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&canvas.pixels.concat())?;
    Ok(())
}
