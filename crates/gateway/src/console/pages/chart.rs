//! The dashboard's daily volume chart, drawn on the server as inline SVG: one bar per day, a
//! rounded scale, a label every few days. Only numbers and dates go into it (no text from a user),
//! each bar carries its day and amount as a `<title>` for pointers and screen readers, and the
//! chart as a whole is an image with a title and a description.

use std::fmt::Write as _;

use crate::service::DayPoint;
use crate::service::console::local_date;

use super::super::format::yuan;

const WIDTH: i64 = 720;
const HEIGHT: i64 = 240;
const LEFT: i64 = 72;
const RIGHT: i64 = 8;
const TOP: i64 = 12;
const BOTTOM: i64 = 28;

/// The smallest of 1, 2, 5 × 10ⁿ fen at least `max` (and at least 1 yuan): the top of the scale.
fn scale_top(max: i64) -> i64 {
    let mut step = 100;
    loop {
        for factor in [1, 2, 5] {
            if step * factor >= max {
                return step * factor;
            }
        }
        step *= 10;
    }
}

/// The chart of `days` (oldest first), titled `title` and described by `desc`.
pub(super) fn daily_bars(days: &[DayPoint], title: &str, desc: &str) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let max = days.iter().map(|d| d.paid.fen).max().unwrap_or(0);
    let top = scale_top(max);
    let mut svg = String::new();
    // Writing to a String cannot fail.
    let _ = write!(
        svg,
        r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" data-testid="chart"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
        escape(title),
        escape(desc)
    );
    for (fraction, label) in [(0, 0), (1, top / 2), (2, top)] {
        let y = TOP + plot_h - plot_h * fraction / 2;
        let class = if fraction == 0 { "axis" } else { "grid" };
        let _ = write!(
            svg,
            r#"<line class="{class}" x1="{LEFT}" y1="{y}" x2="{}" y2="{y}"/><text x="{}" y="{}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6,
            y + 4,
            yuan(label)
        );
    }
    let count = i64::try_from(days.len()).unwrap_or(1).max(1);
    let slot = plot_w / count;
    let bar_w = (slot * 7 / 10).max(1);
    for (i, day) in (0_i64..).zip(days) {
        let h = day.paid.fen * plot_h / top;
        let x = LEFT + i * slot + (slot - bar_w) / 2;
        let y = TOP + plot_h - h;
        let date = local_date(day.day);
        let _ = write!(
            svg,
            r#"<rect class="bar" x="{x}" y="{y}" width="{bar_w}" height="{h}" data-day="{date}" data-fen="{}"><title>{date}: ¥{} ({})</title></rect>"#,
            day.paid.fen,
            yuan(day.paid.fen),
            day.paid.count
        );
        let last = i + 1 == count;
        if i % 5 == 0 || last {
            let month_day = date.get(5..).unwrap_or(&date);
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle">{month_day}</text>"#,
                x + bar_w / 2,
                HEIGHT - 8
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

/// The few characters that would end text or an attribute early.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Tally;

    #[test]
    fn the_scale_is_rounded_up_to_one_two_or_five() {
        assert_eq!(scale_top(0), 100);
        assert_eq!(scale_top(100), 100);
        assert_eq!(scale_top(101), 200);
        assert_eq!(scale_top(2990), 5000);
        assert_eq!(scale_top(5001), 10_000);
        assert_eq!(scale_top(123_456_789), 200_000_000);
    }

    #[test]
    fn bars_are_as_tall_as_their_share_of_the_scale() {
        let day = |day, fen| DayPoint {
            day,
            paid: Tally { count: 1, fen },
        };
        let svg = daily_bars(
            &[day(19_000, 0), day(19_001, 2500), day(19_002, 5000)],
            "t<",
            "d",
        );
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(
            svg.contains("<title id=\"chart-title\">t&lt;</title>"),
            "{svg}"
        );
        assert_eq!(svg.matches("<rect").count(), 3);
        // 5000 fen tops the scale: the full plot height (240 - 12 - 28 = 200); 2500 half of it.
        assert!(
            svg.contains(r#"height="200" data-day="2022-01-10" data-fen="5000""#),
            "{svg}"
        );
        assert!(
            svg.contains(r#"height="100" data-day="2022-01-09""#),
            "{svg}"
        );
        assert!(svg.contains(r#"height="0" data-day="2022-01-08""#), "{svg}");
        assert!(
            svg.contains(">50.00</text>"),
            "the top of the scale is labelled: {svg}"
        );
    }
}
