//! The table on stdout, the JSON file a later run is compared with, and the SVG plot of
//! throughput against connections.

use std::path::Path;

use plotters::prelude::*;
use serde_json::{Value, json};

use crate::wrk::Figures;

pub struct Row {
    pub case: &'static str,
    pub connections: u32,
    pub figures: Figures,
}

pub fn print_table(rows: &[Row]) {
    println!(
        "{:<34} {:>5} {:>10} {:>7} {:>9} {:>9} {:>9}",
        "case", "conns", "req/s", "errors", "p50 ms", "p99 ms", "p999 ms"
    );
    for r in rows {
        let f = &r.figures;
        println!(
            "{:<34} {:>5} {:>10.0} {:>7} {:>9.3} {:>9.3} {:>9.3}",
            r.case, r.connections, f.rps, f.errors, f.p50_ms, f.p99_ms, f.p999_ms
        );
    }
}

pub fn rows_json(rows: &[Row]) -> Value {
    json!(
        rows.iter()
            .map(|r| json!({"case": r.case, "connections": r.connections, "figures": r.figures}))
            .collect::<Vec<_>>()
    )
}

/// Requests/s against connections, one line per case.
pub fn plot(rows: &[Row], cases: &[&'static str], path: &Path) {
    let max = rows.iter().map(|r| r.figures.rps).fold(0.0, f64::max) * 1.1;
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).unwrap();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Throughput against connections (same run, same machine)",
            ("sans-serif", 20),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1u32..256u32).log_scale(), 0f64..max.max(1.0))
        .unwrap();
    chart
        .configure_mesh()
        .x_desc("connections")
        .y_desc("requests / s")
        .x_labels(5)
        .draw()
        .unwrap();
    let palette = [BLACK, BLUE, RED, GREEN, MAGENTA, CYAN];
    for (i, case) in cases.iter().enumerate() {
        let color = palette[i % palette.len()];
        let points: Vec<(u32, f64)> = rows
            .iter()
            .filter(|r| r.case == *case)
            .map(|r| (r.connections, r.figures.rps))
            .collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
            .unwrap()
            .label(*case)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 3, color.filled())))
            .unwrap();
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .unwrap();
    root.present().unwrap();
}
