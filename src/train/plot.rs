//! Plots, drawn with plotters into an RGB buffer and written as PNG: the loss curves of a
//! training run, and coverage against precision per field for a calibration. The text is set
//! in DejaVu Sans, shipped beside this file (its licence is `fonts/DejaVuSans-LICENSE.txt`), so
//! no system font is needed.

use std::path::Path;
use std::sync::Once;

use anyhow::Context;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::eval::{Scored, coverage_curve};
use crate::extract::Field;

const WIDTH: u32 = 800;
const HEIGHT: u32 = 500;
const FONT: &[u8] = include_bytes!("fonts/DejaVuSans.ttf");

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The shipped font always parses; a failure would only leave text undrawn.
        let _ = register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Draws into a fresh buffer with `draw`, then writes it to `path` as PNG.
fn png(
    path: &Path,
    draw: impl FnOnce(&DrawingArea<BitMapBackend, plotters::coord::Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    register();
    let mut buffer = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buffer, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(plot_error)?;
        draw(&root)?;
        root.present().map_err(plot_error)?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header()?.write_image_data(&buffer)?;
    Ok(())
}

fn plot_error<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("plotting failed: {e:?}")
}

/// The training loss (mean of each `LOSS_EVERY` steps) and the held-out loss at the end of each
/// epoch, against the epoch.
pub fn loss_png(
    path: &Path,
    step_loss: &[f32],
    holdout: &[f32],
    steps_per_epoch: usize,
) -> anyhow::Result<()> {
    let every = super::LOSS_EVERY as f64;
    let per_epoch = steps_per_epoch.max(1) as f64;
    let train: Vec<(f64, f64)> = step_loss
        .iter()
        .enumerate()
        .map(|(i, l)| ((i as f64 + 1.0) * every / per_epoch, f64::from(*l)))
        .collect();
    let held: Vec<(f64, f64)> = holdout
        .iter()
        .enumerate()
        .map(|(i, l)| (i as f64 + 1.0, f64::from(*l)))
        .collect();
    let epochs = (held.len() as f64)
        .max(train.last().map_or(1.0, |p| p.0))
        .max(1.0);
    let top = train
        .iter()
        .chain(&held)
        .map(|p| p.1)
        .filter(|l| l.is_finite())
        .fold(0.0f64, f64::max)
        .max(1e-3)
        * 1.05;
    png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Training loss", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..epochs, 0f64..top)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("loss (cross-entropy)")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        let blue = RGBColor(31, 119, 180);
        let orange = RGBColor(255, 127, 14);
        chart
            .draw_series(LineSeries::new(train, blue.stroke_width(2)))
            .map_err(plot_error)?
            .label(format!("training (mean of {} steps)", super::LOSS_EVERY))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], blue.stroke_width(2)));
        chart
            .draw_series(LineSeries::new(held.clone(), orange.stroke_width(2)))
            .map_err(plot_error)?
            .label("held-out (end of epoch)")
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], orange.stroke_width(2)));
        chart
            .draw_series(held.iter().map(|p| Circle::new(*p, 4, orange.filled())))
            .map_err(plot_error)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        Ok(())
    })
}

/// Coverage (share of right values that are given) against precision (share of given values
/// that are right) per field, as each field's threshold runs from 0 to 1.
pub fn coverage_png(path: &Path, scored: &Scored) -> anyhow::Result<()> {
    let fields = [
        (Field::Amount, "amount", RGBColor(31, 119, 180)),
        (Field::AprPercent, "apr_percent", RGBColor(255, 127, 14)),
        (Field::TermDays, "term_days", RGBColor(44, 160, 44)),
    ];
    let curves: Vec<_> = fields
        .iter()
        .map(|(field, name, color)| {
            let points: Vec<(f64, f64)> = coverage_curve(scored, *field)
                .into_iter()
                .map(|(_, coverage, precision)| (f64::from(coverage), f64::from(precision)))
                .collect();
            (*name, *color, points)
        })
        .collect();
    let low = curves
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|q| q.1))
        .fold(1.0f64, f64::min)
        .clamp(0.0, 0.95)
        - 0.02;
    png(path, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption("Coverage against precision, per field", ("sans-serif", 22))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..1.0, low.max(0.0)..1.005)
            .map_err(plot_error)?;
        chart
            .configure_mesh()
            .x_desc("coverage: right values given / right values readable")
            .y_desc("precision: given values right")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        for (name, color, points) in curves {
            chart
                .draw_series(LineSeries::new(points, color.stroke_width(2)))
                .map_err(plot_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2))
                });
        }
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.995), (1.0, 0.995)],
                BLACK.mix(0.5),
            ))
            .map_err(plot_error)?
            .label("99.5 % precision")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.5)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(plot_error)?;
        Ok(())
    })
}
