//! The plots of a report, drawn by `plotters` into SVG strings: grouped
//! bars (miss classes per core, traffic by message type, a histogram), line
//! curves (hand-off cost against cores, clock offsets over time), and a
//! Lamport diagram of software messages. Data marks are drawn with a colour
//! of opacity 0.9 (`MARK`), which the page's render check counts: a plot
//! with no data marks is blank.

use plotters::prelude::*;
use plotters::style::RGBAColor;

use crate::exec::net::SwMessage;

/// The opacity of data marks (the page's render check looks for it).
pub const MARK: f64 = 0.9;

/// A palette of distinguishable colours, as data marks.
fn colour(i: usize) -> RGBAColor {
    const P: [(u8, u8, u8); 10] = [
        (31, 119, 180),
        (255, 127, 14),
        (44, 160, 44),
        (214, 39, 40),
        (148, 103, 189),
        (140, 86, 75),
        (227, 119, 194),
        (127, 127, 127),
        (188, 189, 34),
        (23, 190, 207),
    ];
    let (r, g, b) = P[i % P.len()];
    RGBColor(r, g, b).mix(MARK)
}

const SIZE: (u32, u32) = (760, 360);

/// Why a plot could not be drawn (plotters' error, as text).
pub type PlotError = String;

fn err<E: std::fmt::Debug>(e: E) -> PlotError {
    format!("{e:?}")
}

/// Grouped bars: one group per category, one bar per series in it.
pub fn bars(
    title: &str,
    y_label: &str,
    categories: &[String],
    series: &[(String, Vec<f64>)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let top = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0f64, f64::max).max(1.0) * 1.1;
        let n = categories.len().max(1);
        // Category i is centred on x = i, so the integer ticks carry the names.
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, 0.0..top)
            .map_err(err)?;
        let cats = categories.to_vec();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    cats.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .y_desc(y_label)
            .draw()
            .map_err(err)?;
        let width = 0.8 / series.len().max(1) as f64;
        for (s, (name, values)) in series.iter().enumerate() {
            let c = colour(s);
            let rects = values.iter().enumerate().map(move |(i, &v)| {
                let x0 = i as f64 - 0.4 + s as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width * 0.95, v)], c.filled())
            });
            chart
                .draw_series(rects)
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], c.filled()));
        }
        if series.len() > 1 {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// Line curves with a point per value.
pub fn curves(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[(String, Vec<(f64, f64)>)],
) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let xs = series.iter().flat_map(|(_, v)| v.iter().map(|p| p.0));
        let ys = series.iter().flat_map(|(_, v)| v.iter().map(|p| p.1));
        let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)));
        let (y0, y1) = ys.fold((f64::MAX, f64::MIN), |(a, b), y| (a.min(y), b.max(y)));
        let (x0, x1) = if x0 < x1 { (x0, x1) } else { (x0 - 1.0, x0 + 1.0) };
        let pad = ((y1 - y0) * 0.1).max(1.0);
        let (y0, y1) = if y0 <= y1 { (y0 - pad, y1 + pad) } else { (-1.0, 1.0) };
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(err)?;
        chart.configure_mesh().x_desc(x_label).y_desc(y_label).draw().map_err(err)?;
        for (s, (name, points)) in series.iter().enumerate() {
            let c = colour(s);
            chart
                .draw_series(LineSeries::new(points.iter().copied(), c.stroke_width(2)))
                .map_err(err)?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], c.stroke_width(2)));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, c.filled()))).map_err(err)?;
        }
        if series.len() > 1 {
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(svg)
}

/// A Lamport diagram: each core a horizontal line, each software message an
/// arrow from its send to each receipt, coloured by its primitive; at most
/// `most` messages (the first ones).
pub fn lamport(cores: usize, messages: &[SwMessage], most: usize) -> Result<String, PlotError> {
    let mut svg = String::new();
    {
        let shown: Vec<&SwMessage> = messages.iter().filter(|m| !m.received.is_empty()).take(most).collect();
        let end = shown.iter().flat_map(|m| m.received.iter().map(|r| r.at)).max().unwrap_or(1).max(1) as f64;
        let start = shown.iter().map(|m| m.sent_at).min().unwrap_or(0) as f64;
        let root = SVGBackend::with_string(&mut svg, (SIZE.0, 80 + 40 * cores as u32)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(format!("software messages (first {}), by primitive", shown.len()), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(60)
            .build_cartesian_2d(start..end, -0.5..cores as f64 - 0.5)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_mesh()
            .y_labels(cores)
            .y_label_formatter(&|y| format!("core {}", y.round() as i64))
            .x_desc("cycle")
            .draw()
            .map_err(err)?;
        for c in 0..cores {
            chart.draw_series(LineSeries::new([(start, c as f64), (end, c as f64)], BLACK.mix(0.3))).map_err(err)?;
        }
        let mut tags: Vec<&'static str> = Vec::new();
        for m in &shown {
            let t = m.primitive.tag();
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        for (k, tag) in tags.iter().enumerate() {
            let c = colour(k);
            let arrows = shown.iter().filter(|m| m.primitive.tag() == *tag).flat_map(|m| {
                m.received.iter().map(move |r| {
                    PathElement::new(
                        vec![(m.sent_at as f64, m.from as f64), (r.at as f64, m.to as f64)],
                        c.stroke_width(1),
                    )
                })
            });
            chart
                .draw_series(arrows)
                .map_err(err)?
                .label(format!("{tag} ({})", crate::model::Primitive::from_tag(tag).map_or("", |p| p.name())))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], c.stroke_width(2)));
            let heads = shown
                .iter()
                .filter(|m| m.primitive.tag() == *tag)
                .flat_map(|m| m.received.iter().map(move |r| Circle::new((r.at as f64, m.to as f64), 2, c.filled())));
            chart.draw_series(heads).map_err(err)?;
        }
        chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw().map_err(err)?;
        root.present().map_err(err)?;
    }
    Ok(svg)
}
