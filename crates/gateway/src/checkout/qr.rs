//! The payment QR code, drawn on the server as inline SVG: the page loads no image and no script
//! library, and the code shows with JavaScript off.

use std::fmt::Write as _;

use qrcode::{Color, EcLevel, QrCode};

/// The blank border around the code, in modules: the 4 the QR standard asks for, so a phone's
/// scanner finds the code whatever the page's background.
const QUIET_ZONE: usize = 4;

/// `data` as an SVG QR code: a white square and one black path in module units (a run of dark
/// modules in a row is one `M{x} {y}h{n}v1h-{n}z` rectangle), scaled by the page's CSS. `None`
/// when `data` is too long for any QR code.
#[must_use]
pub fn svg(data: &str, label: &str) -> Option<String> {
    // M (15 % of the code can be lost): what phone scanners read well at this size; the pay URLs
    // are short, so the code stays small.
    let code = QrCode::with_error_correction_level(data, EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let size = width + 2 * QUIET_ZONE;
    let mut path = String::new();
    for (y, row) in colors.chunks(width).enumerate() {
        let mut x = 0;
        while x < width {
            if row.get(x) != Some(&Color::Dark) {
                x += 1;
                continue;
            }
            let start = x;
            while row.get(x) == Some(&Color::Dark) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(
                path,
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    Some(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"{label}\">\
         <rect width=\"{size}\" height=\"{size}\" fill=\"#fff\"/>\
         <path fill=\"#000\" d=\"{path}\"/></svg>",
        label = channel_core::html::escape(label),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pay_url_becomes_an_svg_of_its_modules() {
        let svg = svg("weixin://wxpay/bizpayurl?pr=abc123", "QR").unwrap();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(
            svg.contains("<path fill=\"#000\" d=\"M4 4h7v1h-7z"),
            "{svg}"
        );
        assert!(svg.len() < 8 * 1024, "{}", svg.len());
    }

    #[test]
    fn the_label_is_escaped() {
        let svg = svg("x", "<\"&>").unwrap();
        assert!(svg.contains("aria-label=\"&lt;&quot;&amp;&gt;\""), "{svg}");
    }

    #[test]
    fn data_too_long_for_a_qr_code_gives_none() {
        assert!(svg(&"x".repeat(5000), "QR").is_none());
    }
}
