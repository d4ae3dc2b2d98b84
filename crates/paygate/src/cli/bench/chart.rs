//! The latency-against-rate chart of order creation, as a standalone SVG: one line per database
//! for p99 (solid) and p50 (dashed), latency on a log scale, the targets as horizontal guides.

use std::fmt::Write as _;

/// One database's points: `(offered rate /s, p50 ms, p99 ms)`, sorted by rate.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64, f64)>,
}

const W: f64 = 760.0;
const H: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

pub fn svg(title: &str, series: &[Series]) -> String {
    let step = nice_step(
        series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .fold(1.0_f64, f64::max)
            * 1.05
            / 5.0,
    );
    let max_rate = step * 5.0;
    let max_ms = series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.2))
        .fold(100.0_f64, f64::max);
    let (lo, hi) = (0.1_f64.log10(), max_ms.log10().ceil());
    let x = |rate: f64| LEFT + (W - LEFT - RIGHT) * rate / max_rate;
    let y = |ms: f64| {
        let v = ms.max(0.1).log10();
        TOP + (H - TOP - BOTTOM) * (1.0 - (v - lo) / (hi - lo))
    };
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{LEFT}\" y=\"22\" font-size=\"14\" font-weight=\"bold\">{}</text>\n",
        escape(title)
    );
    // Latency grid: one line per power of ten.
    let mut decade = lo;
    while decade <= hi + 1e-9 {
        let ms = 10f64.powf(decade);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            W - RIGHT,
            LEFT - 6.0,
            y(ms) + 4.0,
            trim(ms),
            y0 = y(ms)
        );
        decade += 1.0;
    }
    // The targets: p99 ≤ 11 ms at a quarter of the bound, ≤ 25 ms at half.
    for (ms, label) in [(11.0, "11 ms"), (25.0, "25 ms")] {
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{v:.1}\" y2=\"{v:.1}\" stroke=\"#999\" stroke-dasharray=\"2 3\"/>\
             <text x=\"{}\" y=\"{:.1}\" fill=\"#666\">target {label}</text>",
            W - RIGHT,
            W - RIGHT + 4.0,
            y(ms) + 4.0,
            v = y(ms)
        );
    }
    // Rate axis.
    for i in 0..=5 {
        let rate = step * f64::from(i);
        let _ = writeln!(
            out,
            "<line x1=\"{v:.1}\" x2=\"{v:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#333\"/>\
             <text x=\"{v:.1}\" y=\"{}\" text-anchor=\"middle\">{rate:.0}</text>",
            H - BOTTOM,
            H - BOTTOM + 5.0,
            H - BOTTOM + 18.0,
            v = x(rate)
        );
    }
    let _ = writeln!(
        out,
        "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{b}\" y2=\"{b}\" stroke=\"#333\"/>\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{b}\" stroke=\"#333\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">orders per second: offered (open loop), or done (closed loop)</text>\
         <text x=\"16\" y=\"{}\" transform=\"rotate(-90 16 {})\" text-anchor=\"middle\">latency (ms, log scale)</text>",
        W - RIGHT,
        (LEFT + W - RIGHT) / 2.0,
        H - 16.0,
        (TOP + H - BOTTOM) / 2.0,
        (TOP + H - BOTTOM) / 2.0,
        b = H - BOTTOM
    );
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        for (dash, pick, label) in [("", 2usize, "p99"), ("6 4", 1usize, "p50")] {
            let points: Vec<String> = s
                .points
                .iter()
                .map(|p| {
                    let ms = if pick == 2 { p.2 } else { p.1 };
                    format!("{:.1},{:.1}", x(p.0), y(ms))
                })
                .collect();
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\" points=\"{}\"/>",
                points.join(" ")
            );
            for p in &points {
                let (px, py) = p.split_once(',').unwrap_or(("0", "0"));
                let _ = writeln!(
                    out,
                    "<circle cx=\"{px}\" cy=\"{py}\" r=\"3\" fill=\"{colour}\"/>"
                );
            }
            let legend_y = TOP + 20.0 * (i as f64 * 2.0 + if pick == 2 { 0.0 } else { 1.0 });
            let _ = writeln!(
                out,
                "<line x1=\"{}\" x2=\"{}\" y1=\"{legend_y:.1}\" y2=\"{legend_y:.1}\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>\
                 <text x=\"{}\" y=\"{:.1}\">{} {label}</text>",
                W - RIGHT + 60.0,
                W - RIGHT + 85.0,
                W - RIGHT + 90.0,
                legend_y + 4.0,
                escape(&s.name)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let power = 10f64.powf(raw.max(f64::MIN_POSITIVE).log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

fn trim(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_is_svg_with_a_line_per_quantile_and_database() {
        let series = [
            Series {
                name: "sqlite".into(),
                points: vec![(100.0, 2.0, 5.0), (200.0, 3.0, 9.0), (400.0, 20.0, 300.0)],
            },
            Series {
                name: "postgres".into(),
                points: vec![(100.0, 2.5, 6.0)],
            },
        ];
        let svg = svg("create <order>", &series);
        assert!(svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("create &lt;order&gt;"));
        assert!(svg.contains("target 11 ms"));
    }

    #[test]
    fn rate_steps_are_round() {
        assert!((nice_step(23.0) - 50.0).abs() < 1e-9);
        assert!((nice_step(180.0) - 200.0).abs() < 1e-9);
        assert!((nice_step(1.0) - 1.0).abs() < 1e-9);
    }
}
