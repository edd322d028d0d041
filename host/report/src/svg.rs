//! SVG drawing: axes from values to pixels, ticks, and a writer of the few shapes the plots
//! need. Points of one series are one `<path>` of zero-length segments (`M x y h0`, drawn as
//! dots by a round line cap) with the trials' numbers in `data-n`, so ten thousand points cost a
//! few bytes each and the page's script can find the trial under the pointer.

use std::fmt::Write as _;

use hyperplug_core::{Domain, Value};

/// The colours of trial states and series.
pub(crate) const COMPLETE: &str = "#1f77b4";
pub(crate) const PRUNED: &str = "#ff7f0e";
pub(crate) const FAILED: &str = "#d62728";
pub(crate) const RUNNING: &str = "#7f7f7f";
pub(crate) const BEST: &str = "#2ca02c";
pub(crate) const DOMINATED: &str = "#9aa5b1";
pub(crate) const SECOND: &str = "#9467bd";

/// Viridis in eight steps: low values dark, high values bright.
pub(crate) const VIRIDIS: [&str; 8] = [
    "#440154", "#46327e", "#365c8d", "#277f8e", "#1fa187", "#4ac16d", "#a0da39", "#fde725",
];

/// `x` with up to four significant digits, in scientific notation when very small or large.
pub(crate) fn num(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x == 0.0 {
        return "0".into();
    }
    let a = x.abs();
    if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.decimals$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    } else {
        let s = format!("{x:.2e}");
        // 1.00e-5 → 1e-5
        match s.split_once('e') {
            Some((m, e)) => {
                let m = if m.contains('.') {
                    m.trim_end_matches('0').trim_end_matches('.')
                } else {
                    m
                };
                format!("{m}e{e}")
            }
            None => s,
        }
    }
}

/// `x` with three significant digits, for legends.
pub(crate) fn short(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return num(x);
    }
    let digits = x.abs().log10().floor() as i32;
    let scale = 10f64.powi(2 - digits);
    let rounded = (x * scale).round() / scale;
    // Near ±f64::MAX, rounding up overflows.
    num(if rounded.is_finite() { rounded } else { x })
}

/// Text safe inside HTML or SVG elements and attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Where `x` lies from `lo` (0) to `hi` (1). In halves: `hi - lo` overflows to infinity for
/// finite values of opposite signs near ±f64::MAX, and the result would be NaN.
pub(crate) fn fraction(x: f64, lo: f64, hi: f64) -> f64 {
    (x / 2.0 - lo / 2.0) / (hi / 2.0 - lo / 2.0)
}

/// The value a fraction `t` (0 to 1) of the way from `lo` to `hi`, without computing `hi - lo`
/// (see [`fraction`]).
pub(crate) fn between(lo: f64, hi: f64, t: f64) -> f64 {
    lo * (1.0 - t) + hi * t
}

/// How values map onto an axis.
#[derive(Clone, Debug)]
pub(crate) enum Map {
    Linear {
        lo: f64,
        hi: f64,
    },
    Log {
        lo: f64,
        hi: f64,
    },
    /// Unordered choices at evenly spaced positions.
    Choices(Vec<Value>),
}

/// An axis: values to pixels between `p0` (the low end) and `p1`, with its ticks.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    map: Map,
    p0: f64,
    p1: f64,
    /// Tick positions in pixels, with labels.
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// A linear axis over values from `lo` to `hi`, padded by 4% on each side.
    pub fn values(lo: f64, hi: f64, p0: f64, p1: f64) -> Axis {
        let (lo, hi) = if lo.is_finite() && hi.is_finite() {
            (lo.min(hi), lo.max(hi))
        } else {
            (0.0, 1.0)
        };
        let span = if hi > lo {
            hi - lo
        } else {
            (lo.abs() * 0.1).max(1e-9)
        };
        let pad = if hi > lo { 0.04 * span } else { span };
        // Clamped: values near ±f64::MAX pad to infinity.
        let (lo, hi) = ((lo - pad).max(f64::MIN), (hi + pad).min(f64::MAX));
        Axis::new(Map::Linear { lo, hi }, p0, p1)
    }

    /// An axis over a parameter's domain: linear, logarithmic, or one position per choice.
    pub fn param(domain: &Domain, p0: f64, p1: f64) -> Axis {
        let map = match *domain {
            Domain::Float { low, high, log, .. } => {
                // A domain of one value has no scale: log(high / low) would divide by zero.
                if high <= low {
                    return Axis::values(low, high, p0, p1);
                } else if log {
                    Map::Log { lo: low, hi: high }
                } else {
                    Map::Linear { lo: low, hi: high }
                }
            }
            Domain::Int {
                low,
                high,
                log,
                step,
            } => {
                // Each integer the centre of its cell, as `Domain::to_unit` places it.
                let half = step as f64 / 2.0;
                if log {
                    Map::Log {
                        lo: (low as f64 - 0.5).max(low as f64 * 0.5),
                        hi: high as f64 + 0.5,
                    }
                } else {
                    Map::Linear {
                        lo: low as f64 - half,
                        hi: high as f64 + half,
                    }
                }
            }
            Domain::Categorical { ref choices } => Map::Choices(choices.clone()),
        };
        Axis::new(map, p0, p1)
    }

    fn new(map: Map, p0: f64, p1: f64) -> Axis {
        let mut axis = Axis {
            map,
            p0,
            p1,
            ticks: Vec::new(),
        };
        axis.ticks = axis.make_ticks();
        axis
    }

    fn unit(&self, x: f64) -> f64 {
        match self.map {
            Map::Linear { lo, hi } => fraction(x, lo, hi),
            Map::Log { lo, hi } => (x.max(f64::MIN_POSITIVE).ln() - lo.ln()) / (hi.ln() - lo.ln()),
            Map::Choices(_) => x,
        }
    }

    /// The pixel of the number `x`.
    pub fn px(&self, x: f64) -> f64 {
        self.p0 + self.unit(x) * (self.p1 - self.p0)
    }

    /// The pixel of a parameter value; `None` when it is not on this axis.
    pub fn px_value(&self, v: &Value) -> Option<f64> {
        match &self.map {
            Map::Choices(choices) => {
                let i = choices.iter().position(|c| c == v)?;
                let u = (i as f64 + 0.5) / choices.len() as f64;
                Some(self.p0 + u * (self.p1 - self.p0))
            }
            _ => v.as_f64().map(|x| self.px(x)),
        }
    }

    /// The low and high ends in pixels.
    pub fn ends(&self) -> (f64, f64) {
        (self.p0, self.p1)
    }

    fn make_ticks(&self) -> Vec<(f64, String)> {
        match &self.map {
            Map::Choices(choices) => {
                let k = choices.len();
                // Label at most about twelve choices.
                let every = k.div_ceil(12).max(1);
                choices
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % every == 0)
                    .map(|(i, c)| {
                        let u = (i as f64 + 0.5) / k as f64;
                        let mut label = c.to_string();
                        if label.chars().count() > 12 {
                            label = label.chars().take(11).collect::<String>() + "…";
                        }
                        (self.p0 + u * (self.p1 - self.p0), label)
                    })
                    .collect()
            }
            &Map::Log { lo, hi } if hi / lo >= 10.0 => {
                let (a, b) = (lo.log10().ceil() as i32, hi.log10().floor() as i32);
                let every = ((b - a) / 6 + 1).max(1) as usize;
                (a..=b)
                    .step_by(every)
                    .map(|e| {
                        let v = 10f64.powi(e);
                        (self.px(v), num(v))
                    })
                    .collect()
            }
            &Map::Log { lo, hi } | &Map::Linear { lo, hi } => {
                let raw = hi / 6.0 - lo / 6.0;
                if !(raw > 0.0 && raw.is_finite()) {
                    return vec![(self.px(lo), num(lo))];
                }
                let mag = 10f64.powf(raw.log10().floor());
                let step = [1.0, 2.0, 2.5, 5.0, 10.0]
                    .iter()
                    .map(|m| m * mag)
                    .find(|s| *s >= raw)
                    .unwrap_or(10.0 * mag);
                let mut out = Vec::new();
                let mut v = (lo / step).ceil() * step;
                // Finite: near f64::MAX, `v += step` overflows.
                while v.is_finite() && v <= hi + step * 1e-9 && out.len() < 12 {
                    // -0 and rounding noise read badly.
                    let shown = if (v / step).abs() < 1e-9 { 0.0 } else { v };
                    out.push((self.px(shown), num(shown)));
                    v += step;
                }
                out
            }
        }
    }
}

/// The plotting area of a panel: `x0..x1` left to right, `y0..y1` top to bottom.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Area {
    pub w: f64,
    pub h: f64,
    pub x0: f64,
    pub x1: f64,
    pub y0: f64,
    pub y1: f64,
}

impl Area {
    /// A panel `w` by `h` with room for axis labels on the left and bottom, and `extra` more
    /// at the bottom (for strips of pruned and failed trials).
    pub fn new(w: f64, h: f64, extra: f64) -> Area {
        Area {
            w,
            h,
            x0: 62.0,
            x1: w - 14.0,
            y0: 26.0,
            y1: h - 40.0 - extra,
        }
    }
}

/// An SVG document being written.
pub(crate) struct Svg {
    out: String,
}

/// A point of a series: pixels and the trial's number.
pub(crate) type Point = (f64, f64, u64);

impl Svg {
    /// A panel of `area`'s size.
    pub fn new(area: &Area, label: &str) -> Svg {
        let mut out = String::with_capacity(4096);
        let _ = write!(
            out,
            "<svg class=\"plot\" font-family=\"sans-serif\" font-size=\"11\" width=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\">",
            area.w,
            area.w,
            area.h,
            esc(label)
        );
        Svg { out }
    }

    /// Axes with ticks and labels around `area`.
    pub fn axes(&mut self, area: &Area, x: &Axis, y: &Axis, x_label: &str, y_label: &str) {
        let o = &mut self.out;
        let _ = write!(
            o,
            "<rect class=\"frame\" fill=\"none\" stroke=\"#bbb\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
            area.x0,
            area.y0,
            area.x1 - area.x0,
            area.y1 - area.y0
        );
        o.push_str("<g class=\"ticks\">");
        for (p, label) in &x.ticks {
            let _ = write!(
                o,
                "<path stroke=\"#999\" d=\"M{p:.1} {}v4\"/><text x=\"{p:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                area.y1,
                area.y1 + 15.0,
                esc(label)
            );
        }
        for (p, label) in &y.ticks {
            let _ = write!(
                o,
                "<path stroke=\"#999\" d=\"M{} {p:.1}h-4\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                area.x0,
                area.x0 - 6.0,
                p + 3.5,
                esc(label)
            );
        }
        o.push_str("</g>");
        let _ = write!(
            o,
            "<text class=\"label\" font-size=\"12\" x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            (area.x0 + area.x1) / 2.0,
            area.h - 6.0,
            esc(x_label)
        );
        let _ = write!(
            o,
            "<text class=\"label\" font-size=\"12\" transform=\"translate(13 {:.1}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
            (area.y0 + area.y1) / 2.0,
            esc(y_label)
        );
    }

    /// One series of points as dots of `radius`, hoverable by trial number.
    pub fn dots(&mut self, series: &str, color: &str, radius: f64, points: &[Point]) {
        if points.is_empty() {
            return;
        }
        let o = &mut self.out;
        let _ = write!(
            o,
            "<path class=\"s-{series}\" stroke=\"{color}\" stroke-width=\"{}\" stroke-linecap=\"round\" fill=\"none\" d=\"",
            2.0 * radius
        );
        for (x, y, _) in points {
            let _ = write!(o, "M{x:.0} {y:.0}h0");
        }
        o.push_str("\" data-n=\"");
        for (i, (_, _, n)) in points.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{n}");
        }
        o.push_str("\"/>");
    }

    /// Horizontal bars from `(x, y)` of length `w`, `thickness` high, hoverable at their start.
    pub fn bars(
        &mut self,
        series: &str,
        color: &str,
        thickness: f64,
        bars: &[(f64, f64, f64, u64)],
    ) {
        if bars.is_empty() {
            return;
        }
        let o = &mut self.out;
        let _ = write!(
            o,
            "<path class=\"s-{series}\" stroke=\"{color}\" stroke-width=\"{thickness:.2}\" fill=\"none\" d=\""
        );
        for (x, y, w, _) in bars {
            let _ = write!(o, "M{x:.0} {y:.1}h{:.1}", w.max(0.8));
        }
        o.push_str("\" data-n=\"");
        for (i, (.., n)) in bars.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            let _ = write!(o, "{n}");
        }
        o.push_str("\"/>");
    }

    /// Polylines of one series in one path, each a list of points.
    pub fn lines(
        &mut self,
        series: &str,
        color: &str,
        width: f64,
        opacity: f64,
        lines: &[Vec<(f64, f64)>],
    ) {
        if lines.is_empty() {
            return;
        }
        let o = &mut self.out;
        let _ = write!(
            o,
            "<path class=\"s-{series}\" stroke=\"{color}\" stroke-width=\"{width}\" stroke-opacity=\"{opacity}\" fill=\"none\" stroke-linejoin=\"round\" d=\""
        );
        for line in lines {
            for (i, (x, y)) in line.iter().enumerate() {
                let _ = write!(o, "{}{x:.0} {y:.0}", if i == 0 { 'M' } else { 'L' });
            }
        }
        o.push_str("\"/>");
    }

    /// Text at `(x, y)`.
    pub fn text(&mut self, class: &str, x: f64, y: f64, anchor: &str, text: &str) {
        let _ = write!(
            self.out,
            "<text class=\"{class}\" x=\"{x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{}</text>",
            esc(text)
        );
    }

    /// A legend along the top edge: clicking an entry hides or shows its series in the whole
    /// figure.
    pub fn legend(&mut self, area: &Area, items: &[(&str, &str, String)]) {
        let mut x = area.x0;
        for (series, color, label) in items {
            let _ = write!(
                self.out,
                "<g class=\"legend\" data-series=\"{series}\"><rect x=\"{x:.0}\" y=\"8\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{:.0}\" y=\"17\">{}</text></g>",
                x + 14.0,
                esc(label)
            );
            x += 24.0 + 6.2 * label.chars().count() as f64;
        }
    }

    /// Raw markup.
    pub fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    /// The finished document.
    pub fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_short_and_ticks_are_round() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1234.5678), "1235");
        assert_eq!(num(0.012345), "0.01235");
        assert_eq!(num(2.0), "2");
        assert_eq!(num(1e-5), "1e-5");
        assert_eq!(num(-123456.0), "-1.23e5");
        assert_eq!(short(0.0020641), "0.00206");
        assert_eq!(short(1234.5), "1230");
        let a = Axis::values(0.0, 1.0, 0.0, 100.0);
        let labels: Vec<&str> = a.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["0", "0.2", "0.4", "0.6", "0.8", "1"]);
        let log = Axis::param(&Domain::float(1e-4, 1.0).log(), 0.0, 400.0);
        let labels: Vec<&str> = log.ticks.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(labels, ["1e-4", "0.001", "0.01", "0.1", "1"]);
        assert!((log.px(1e-2) - 200.0).abs() < 1e-9);
        let cat = Axis::param(&Domain::choice(["a", "b"]), 0.0, 100.0);
        assert_eq!(cat.px_value(&Value::from("b")), Some(75.0));
        assert_eq!(cat.px_value(&Value::from("c")), None);
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn a_series_of_dots_is_one_path_with_its_trial_numbers() {
        let area = Area::new(200.0, 100.0, 0.0);
        let mut svg = Svg::new(&area, "t");
        svg.dots(
            "complete",
            COMPLETE,
            2.0,
            &[(10.2, 20.7, 3), (30.0, 40.0, 5)],
        );
        let s = svg.finish();
        assert!(s.contains("d=\"M10 21h0M30 40h0\" data-n=\"3,5\""), "{s}");
        assert!(s.ends_with("</svg>"));
    }
}
