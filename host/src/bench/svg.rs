//! Regret curves as hand-written SVG: per strategy the median over seeds of the best-so-far
//! (as regret where the optimum is known) after each trial, with its interquartile band.

use std::fmt::Write as _;

use super::record::regret;
use super::report::{Row, Section};
use super::stats::{quantile, sig};

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;
/// Colour-blind-safe (Okabe–Ito), then a few more.
const COLOURS: [&str; 10] = [
    "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442",
    "#882255", "#44AA99",
];

/// Median and quartiles per trial index for one row.
struct Curve<'a> {
    row: &'a Row,
    /// (trial number from 1, q25, median, q75)
    points: Vec<(f64, f64, f64, f64)>,
}

fn curve<'a>(section: &Section, row: &'a Row) -> Curve<'a> {
    let len = row
        .runs
        .iter()
        .map(|r| r.best_so_far.len())
        .max()
        .unwrap_or(0);
    let mut points = Vec::with_capacity(len);
    for t in 0..len {
        let values: Vec<f64> = row
            .runs
            .iter()
            .filter_map(|r| r.best_so_far.get(t).copied().flatten())
            .map(|v| match section.optimum {
                Some(o) => regret(section.direction, v, o),
                None => v,
            })
            .collect();
        if let (Some(lo), Some(mid), Some(hi)) = (
            quantile(&values, 0.25),
            quantile(&values, 0.5),
            quantile(&values, 0.75),
        ) {
            points.push(((t + 1) as f64, lo, mid, hi));
        }
    }
    Curve { row, points }
}

/// Escapes text for SVG content and attribute values.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Round steps of 1, 2 or 5 times a power of ten, about `n` of them over `lo..hi`.
fn ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let raw = span / n.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * power)
        .find(|s| span / s <= n as f64 + 0.5)
        .unwrap_or(10.0 * power);
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// The figure of `section`, or `None` when no run has a best-so-far curve.
pub fn figure(section: &Section) -> Option<String> {
    let curves: Vec<Curve<'_>> = section
        .rows
        .iter()
        .map(|row| curve(section, row))
        .filter(|c| !c.points.is_empty())
        .collect();
    if curves.is_empty() {
        return None;
    }
    let all = || curves.iter().flat_map(|c| &c.points);
    let x_max = all().map(|p| p.0).fold(1.0, f64::max);
    let lows = all().map(|p| p.1.min(p.2));
    let y_min_raw = lows.fold(f64::INFINITY, f64::min);
    let y_max_raw = all()
        .map(|p| p.3.max(p.2))
        .fold(f64::NEG_INFINITY, f64::max);
    let smallest_positive = all()
        .flat_map(|p| [p.1, p.2, p.3])
        .filter(|v| *v > 0.0)
        .fold(f64::INFINITY, f64::min);
    // Log scale when what is shown spans two decades or more; a regret of exactly zero (the
    // optimum found) is then drawn at the bottom edge.
    let log = section.optimum.is_some()
        && smallest_positive.is_finite()
        && y_max_raw > 0.0
        && y_max_raw / smallest_positive >= 100.0
        && y_min_raw >= 0.0;
    let (y_lo, y_hi) = if log {
        (
            smallest_positive.log10().floor(),
            y_max_raw
                .log10()
                .ceil()
                .max(smallest_positive.log10().floor() + 1.0),
        )
    } else {
        let pad = ((y_max_raw - y_min_raw) * 0.05).max(1e-12 * y_max_raw.abs().max(1.0));
        (y_min_raw - pad, y_max_raw + pad)
    };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |t: f64| LEFT + plot_w * (t - 1.0) / (x_max - 1.0).max(1.0);
    let y = |v: f64| {
        let v = if log {
            v.max(10f64.powf(y_lo)).log10()
        } else {
            v
        };
        TOP + plot_h * (1.0 - (v - y_lo) / (y_hi - y_lo))
    };

    let what = if section.optimum.is_some() {
        "regret"
    } else {
        "best value"
    };
    let title = format!(
        "{}, {} trials: median {what} so far (band: IQR over seeds)",
        section.problem, section.budget
    );
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(&title));
    let _ = writeln!(
        svg,
        r#"<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#
    );
    let _ = writeln!(
        svg,
        r#"<text x="{LEFT}" y="24" font-size="14">{}</text>"#,
        escape(&title)
    );
    // Axes and ticks.
    let (x0, x1, y0, y1) = (LEFT, LEFT + plot_w, TOP + plot_h, TOP);
    let _ = writeln!(
        svg,
        r##"<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#333"/>"##
    );
    let _ = writeln!(
        svg,
        r##"<line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="#333"/>"##
    );
    for t in ticks(1.0, x_max, 6) {
        let px = x(t.max(1.0));
        let _ = writeln!(
            svg,
            r##"<line x1="{px:.1}" y1="{y0}" x2="{px:.1}" y2="{:.1}" stroke="#333"/>"##,
            y0 + 5.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            y0 + 18.0,
            sig(t, 6)
        );
    }
    let y_ticks: Vec<f64> = if log {
        (y_lo as i64..=y_hi as i64)
            .map(|k| 10f64.powi(k as i32))
            .collect()
    } else {
        ticks(y_lo, y_hi, 6)
    };
    for v in y_ticks {
        let py = y(v);
        let _ = writeln!(
            svg,
            r##"<line x1="{:.1}" y1="{py:.1}" x2="{x1}" y2="{py:.1}" stroke="#ddd"/>"##,
            x0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            x0 - 6.0,
            py + 4.0,
            escape(&sig(v, 4))
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">trial</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 10.0
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">{what}{}</text>"#,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0,
        if log { " (log scale)" } else { "" }
    );
    // Bands first, so that every median line lies on top of them.
    for (i, c) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let upper = c
            .points
            .iter()
            .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.3)));
        let lower = c
            .points
            .iter()
            .rev()
            .map(|p| format!("{:.1},{:.1}", x(p.0), y(p.1)));
        let points: Vec<String> = upper.chain(lower).collect();
        let _ = writeln!(
            svg,
            r#"<polygon points="{}" fill="{colour}" fill-opacity="0.15" stroke="none"/>"#,
            points.join(" ")
        );
    }
    for (i, c) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let d: Vec<String> = c
            .points
            .iter()
            .enumerate()
            .map(|(k, p)| {
                format!(
                    "{}{:.1},{:.1}",
                    if k == 0 { "M" } else { "L" },
                    x(p.0),
                    y(p.2)
                )
            })
            .collect();
        // Past the palette, colours repeat with a dash pattern, so every row stays distinct.
        let dash = match i / COLOURS.len() {
            0 => String::new(),
            k => format!(r#" stroke-dasharray="{} 3""#, 8 - 2 * (k % 3)),
        };
        let label = format!("{} {}", c.row.system, c.row.strategy);
        let _ = writeln!(
            svg,
            r#"<path d="{}" fill="none" stroke="{colour}" stroke-width="1.8"{dash}><title>{}</title></path>"#,
            d.join(" "),
            escape(&label)
        );
        let ly = TOP + 10.0 + 20.0 * i as f64;
        let lx = LEFT + plot_w + 16.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{lx:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="3"{dash}/>"#,
            ly - 4.0,
            lx + 16.0,
            ly - 4.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{ly:.1}">{}</text>"#,
            lx + 20.0,
            escape(&label)
        );
    }
    svg.push_str("</svg>\n");
    Some(svg)
}

#[cfg(test)]
mod tests {
    use hyperplug_core::Direction;

    use super::*;
    use crate::bench::record::Record;
    use crate::bench::report::build;

    /// Checks that every tag is closed in order and every attribute value is quoted: enough to
    /// know a browser will parse the file.
    fn assert_well_formed(svg: &str) {
        let mut open: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').expect("unclosed tag") + start;
            let tag = &rest[start + 1..end];
            assert!(!tag.contains('<'), "`<` inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(open.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let name = tag.split_whitespace().next().unwrap_or_default();
                assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes: {tag}");
                if !tag.ends_with('/') {
                    open.push(name.to_owned());
                }
            }
            let text = &rest[end + 1..];
            let next = text.find('<').unwrap_or(text.len());
            assert!(!text[..next].contains('>'), "stray `>` in text");
            rest = text;
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
    }

    fn runs(strategy: &str, base: f64) -> Vec<Record> {
        (0..5)
            .map(|seed| Record {
                optimum: Some(0.0),
                best_so_far: (0..30)
                    .map(|t| Some(base * (seed + 1) as f64 / (t + 1) as f64))
                    .collect(),
                ..Record::new("hyperplug", strategy, "f<&>", Direction::Minimize, seed, 30)
            })
            .collect()
    }

    #[test]
    fn one_median_path_per_strategy_in_a_well_formed_file() {
        let mut records = runs("a", 1000.0);
        records.extend(runs("b", 1.0));
        records.extend(runs("c", 10.0));
        let report = build(&records);
        let svg = figure(&report.sections[0]).unwrap();
        assert_well_formed(&svg);
        assert_eq!(svg.matches("<path ").count(), 3);
        assert_eq!(svg.matches("<polygon ").count(), 3);
        assert!(
            svg.contains("f&lt;&amp;&gt;, 30 trials"),
            "the label is escaped"
        );
        // From 3000/30 = 0.033 to 5000: five decades, so the y axis is logarithmic.
        assert!(svg.contains("regret (log scale)"));
        // The first point of `a` is its median at trial 1: 3000, at the top decade.
        assert!(svg.contains("hyperplug a</title>"));
    }

    #[test]
    fn narrow_ranges_use_a_linear_axis_and_empty_sections_draw_nothing() {
        let mut records = runs("a", 1.0);
        for r in &mut records {
            r.optimum = None;
            r.best_so_far = (0..10).map(|t| Some(5.0 - 0.1 * t as f64)).collect();
        }
        let report = build(&records);
        let svg = figure(&report.sections[0]).unwrap();
        assert_well_formed(&svg);
        assert!(svg.contains(">best value</text>"), "{svg}");
        for r in &mut records {
            r.best_so_far.clear();
        }
        assert_eq!(figure(&build(&records).sections[0]), None);
        assert_eq!(ticks(0.0, 100.0, 5), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    }
}
