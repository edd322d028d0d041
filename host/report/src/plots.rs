//! The plots, each a function from the study's data to a [`Figure`] of SVG panels: what the
//! report shows, and what a live view redraws as trials finish. The panels are plain SVG
//! strings with no script of their own; the page's script adds hover, zoom and toggling.

use hyperplug_core::{Direction, Domain, TrialState, pareto_front};
use hyperplug_schema::{StudyData, TrialData};

use crate::Importances;
use crate::svg::{
    Area, Axis, BEST, COMPLETE, DOMINATED, FAILED, PRUNED, Point, RUNNING, SECOND, Svg, VIRIDIS,
    between, esc, fraction, num, short,
};

/// One plot: a title, a caption saying how to read it, and one or more SVG panels.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// A stable identifier (`history`, `importance`, `parallel`, `slice`, `contour`, `pareto`,
    /// `intermediate`, `edf`, `timeline`, `rank`), for anchors and for a live view to replace
    /// the figure in place.
    pub id: &'static str,
    /// Its heading.
    pub title: String,
    /// How to read it, and what it leaves out.
    pub caption: String,
    /// Standalone `<svg>` elements.
    pub panels: Vec<String>,
}

/// Most parameters a panelled plot shows (the most important first).
pub const MAX_PARAMS: usize = 12;

/// Most points of intermediate values drawn; beyond it, every k-th trial's curve is drawn, and a
/// curve longer than its share of the points is drawn through every j-th of its reports and its
/// last.
pub const MAX_CURVE_POINTS: usize = 100_000;

fn state_color(s: TrialState) -> &'static str {
    match s {
        TrialState::Complete => COMPLETE,
        TrialState::Pruned => PRUNED,
        TrialState::Failed => FAILED,
        TrialState::Running => RUNNING,
    }
}

fn state_name(s: TrialState) -> &'static str {
    match s {
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Failed => "failed",
        TrialState::Running => "running",
    }
}

/// The complete trials' values of objective `k`, with the trials.
fn scored(study: &StudyData, k: usize) -> Vec<(&TrialData, f64)> {
    study
        .complete()
        .filter_map(|t| t.values.get(k).map(|v| (t, *v)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
        (a.min(v), b.max(v))
    })
}

/// The colour bin (0..bins) of `v` in `[lo, hi]`.
fn bin(v: f64, lo: f64, hi: f64, bins: usize) -> usize {
    if hi > lo {
        ((fraction(v, lo, hi) * bins as f64) as usize).min(bins - 1)
    } else {
        bins / 2
    }
}

fn empty_panel(label: &str, message: &str) -> String {
    let area = Area::new(480.0, 120.0, 0.0);
    let mut svg = Svg::new(&area, label);
    svg.text("empty", 240.0, 64.0, "middle", message);
    svg.finish()
}

/// A figure with no data yet.
fn empty(id: &'static str, title: &str, message: &str) -> Figure {
    Figure {
        id,
        title: title.into(),
        caption: message.into(),
        panels: vec![empty_panel(title, message)],
    }
}

/// Optimization history: each complete trial's value by trial number, the best so far as a
/// line, and pruned and failed trials as marks along the bottom edge.
pub fn history(study: &StudyData, k: usize) -> Figure {
    let name = study.study.objective_name(k);
    let title = format!("Optimization history of {name}");
    let points = scored(study, k);
    if points.is_empty() {
        return empty("history", &title, "No trial has completed yet.");
    }
    let direction = study
        .study
        .directions
        .get(k)
        .copied()
        .unwrap_or(Direction::Minimize);
    let area = Area::new(720.0, 380.0, 0.0);
    let last = study.trials.iter().map(|t| t.number).max().unwrap_or(0);
    let x = Axis::values(0.0, last as f64, area.x0, area.x1);
    let (lo, hi) = range(points.iter().map(|(_, v)| *v));
    let y = Axis::values(lo, hi, area.y1, area.y0);
    let mut svg = Svg::new(&area, &title);
    svg.axes(&area, &x, &y, "trial", &name);
    let dots: Vec<Point> = points
        .iter()
        .map(|(t, v)| (x.px(t.number as f64), y.px(*v), t.number))
        .collect();
    svg.dots("complete", COMPLETE, 2.5, &dots);
    let mut best: Option<f64> = None;
    let mut line: Vec<(f64, f64)> = Vec::new();
    for (t, v) in &points {
        if best.is_none_or(|b| direction.better(*v, b)) {
            if let (Some(b), Some(_)) = (best, line.last()) {
                line.push((x.px(t.number as f64), y.px(b)));
            }
            best = Some(*v);
            line.push((x.px(t.number as f64), y.px(*v)));
        }
    }
    if let (Some(b), Some(_)) = (best, line.last()) {
        line.push((x.px(last as f64), y.px(b)));
    }
    svg.lines("best", BEST, 2.0, 1.0, &[line]);
    let mut legend = vec![
        ("complete", COMPLETE, format!("complete ({})", points.len())),
        ("best", BEST, "best so far".to_owned()),
    ];
    for (state, lane) in [(TrialState::Pruned, 4.0), (TrialState::Failed, 10.0)] {
        let marks: Vec<Point> = study
            .trials
            .iter()
            .filter(|t| t.state == state)
            .map(|t| (x.px(t.number as f64), area.y1 - lane, t.number))
            .collect();
        if !marks.is_empty() {
            legend.push((
                state_name(state),
                state_color(state),
                format!("{} ({}, along the bottom)", state_name(state), marks.len()),
            ));
            svg.dots(state_name(state), state_color(state), 2.0, &marks);
        }
    }
    svg.legend(&area, &legend);
    Figure {
        id: "history",
        title,
        caption: format!(
            "Each complete trial's {name} by trial number ({direction}); the line is the best so far. Pruned and failed trials have no value and are marked along the bottom edge."
        ),
        panels: vec![svg.finish()],
    }
}

/// Parameter importances as bars: fANOVA and PED-ANOVA side by side, most important (by
/// fANOVA) first.
pub fn importance(study: &StudyData, k: usize, importances: &Importances) -> Figure {
    let name = study.study.objective_name(k);
    let title = format!("Parameter importances for {name}");
    let order = importances.order(study);
    let (fanova, ped) = (&importances.fanova, &importances.ped_anova);
    if fanova.is_err() && ped.is_err() {
        let why = importances
            .fanova
            .as_ref()
            .err()
            .cloned()
            .unwrap_or_default();
        return empty("importance", &title, &why);
    }
    let row = 30.0;
    let h = 50.0 + row * order.len() as f64;
    let area = Area {
        w: 720.0,
        h,
        x0: 170.0,
        x1: 650.0,
        y0: 30.0,
        y1: h - 20.0,
    };
    let mut svg = Svg::new(&area, &title);
    let value_of = |list: &Result<Vec<hyperplug_importance::Importance>, String>, p: &str| {
        list.as_ref()
            .ok()
            .and_then(|l| l.iter().find(|i| i.param == p).map(|i| i.importance))
    };
    for (i, p) in order.iter().enumerate() {
        let y = area.y0 + row * i as f64 + row / 2.0;
        svg.text("name", area.x0 - 8.0, y + 4.0, "end", p);
        for (series, color, dy, v) in [
            ("fanova", COMPLETE, -6.0, value_of(fanova, p)),
            ("ped", SECOND, 5.0, value_of(ped, p)),
        ] {
            let Some(v) = v else { continue };
            let w = (area.x1 - area.x0) * v;
            svg.raw(&format!(
                "<g class=\"s-{series}\"><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"9\" fill=\"{color}\"><title>{} {}: {}</title></rect><text class=\"value\" x=\"{:.1}\" y=\"{:.1}\">{v:.3}</text></g>",
                area.x0,
                y + dy - 4.5,
                w.max(0.5),
                if series == "fanova" { "fANOVA" } else { "PED-ANOVA" },
                esc(p),
                num(v),
                area.x0 + w + 4.0,
                y + dy + 3.5,
            ));
        }
    }
    let mut legend = Vec::new();
    let mut notes = Vec::new();
    match fanova {
        Ok(_) => legend.push(("fanova", COMPLETE, "fANOVA".to_owned())),
        Err(e) => notes.push(format!("fANOVA: {e}")),
    }
    match ped {
        Ok(_) => legend.push(("ped", SECOND, "PED-ANOVA".to_owned())),
        Err(e) => notes.push(format!("PED-ANOVA: {e}")),
    }
    svg.legend(&area, &legend);
    Figure {
        id: "importance",
        title,
        caption: format!(
            "How much each parameter mattered to {name}, each method's importances summing to one. fANOVA: the share of the variance of a random forest's prediction that the parameter explains alone. PED-ANOVA: how differently the parameter is distributed in the best 10% of the trials than in all of them.{}",
            if notes.is_empty() {
                String::new()
            } else {
                format!(" {}", notes.join(" "))
            }
        ),
        panels: vec![svg.finish()],
    }
}

/// Parallel coordinates: one vertical axis for the objective and one per parameter (the most
/// important first), each complete trial a line coloured by its value.
pub fn parallel_coordinates(study: &StudyData, k: usize, order: &[String]) -> Figure {
    let name = study.study.objective_name(k);
    let title = format!("Parallel coordinates of {name}");
    let points = scored(study, k);
    if points.is_empty() {
        return empty("parallel", &title, "No trial has completed yet.");
    }
    let params: Vec<(&str, &Domain)> = order
        .iter()
        .take(MAX_PARAMS)
        .filter_map(|p| study.study.space.get(p).map(|q| (p.as_str(), &q.domain)))
        .collect();
    let n_axes = params.len() + 1;
    let w = (130.0 * n_axes as f64).max(720.0);
    let area = Area {
        w,
        h: 400.0,
        x0: 70.0,
        x1: w - 70.0,
        y0: 50.0,
        y1: 350.0,
    };
    let gap = if n_axes > 1 {
        (area.x1 - area.x0) / (n_axes - 1) as f64
    } else {
        0.0
    };
    let (lo, hi) = range(points.iter().map(|(_, v)| *v));
    let mut axes = vec![Axis::values(lo, hi, area.y1, area.y0)];
    axes.extend(params.iter().map(|(_, d)| Axis::param(d, area.y1, area.y0)));
    let inactive_y = area.y1 + 22.0;
    let mut bins: Vec<Vec<Vec<(f64, f64)>>> = vec![Vec::new(); VIRIDIS.len()];
    for (t, v) in &points {
        let mut line = vec![(area.x0, axes[0].px(*v))];
        for (i, (p, _)) in params.iter().enumerate() {
            let y = t
                .params
                .get(*p)
                .and_then(|value| axes[i + 1].px_value(value))
                .unwrap_or(inactive_y);
            line.push((area.x0 + gap * (i + 1) as f64, y));
        }
        bins[bin(*v, lo, hi, VIRIDIS.len())].push(line);
    }
    let mut svg = Svg::new(&area, &title);
    let opacity = if points.len() > 2000 { 0.25 } else { 0.6 };
    // The best values' lines last, on top.
    let direction = study
        .study
        .directions
        .get(k)
        .copied()
        .unwrap_or(Direction::Minimize);
    let mut draw: Vec<usize> = (0..bins.len()).collect();
    if direction == Direction::Minimize {
        draw.reverse();
    }
    for b in draw {
        svg.lines(&format!("bin{b}"), VIRIDIS[b], 1.0, opacity, &bins[b]);
    }
    let conditional = |p: &str| {
        study
            .study
            .space
            .get(p)
            .is_some_and(|q| q.condition.is_some())
    };
    let any_inactive = params.iter().any(|(p, _)| conditional(p));
    for (i, axis) in axes.iter().enumerate() {
        let ax = area.x0 + gap * i as f64;
        let label = if i == 0 {
            name.as_str()
        } else {
            params[i - 1].0
        };
        let (y_lo, y_hi) = axis.ends();
        let mut g = format!(
            "<g class=\"ticks\"><path class=\"axis\" stroke=\"#666\" d=\"M{ax:.1} {y_lo:.1}V{y_hi:.1}\"/>"
        );
        for (p, l) in &axis.ticks {
            g.push_str(&format!(
                "<path stroke=\"#999\" d=\"M{ax:.1} {p:.1}h-4\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                ax - 6.0,
                p + 3.5,
                esc(l)
            ));
        }
        if i > 0 && conditional(params[i - 1].0) {
            g.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">inactive</text>",
                ax - 6.0,
                inactive_y + 3.5
            ));
        }
        g.push_str("</g>");
        svg.raw(&g);
        svg.text("label", ax, area.y0 - 12.0, "middle", label);
    }
    let legend: Vec<(String, &str, String)> = (0..VIRIDIS.len())
        .map(|b| {
            let from = between(lo, hi, b as f64 / VIRIDIS.len() as f64);
            (format!("bin{b}"), VIRIDIS[b], format!("≥{}", short(from)))
        })
        .collect();
    let legend: Vec<(&str, &str, String)> = legend
        .iter()
        .map(|(s, c, l)| (s.as_str(), *c, l.clone()))
        .collect();
    svg.legend(&area, &legend);
    Figure {
        id: "parallel",
        title,
        caption: format!(
            "Each complete trial is a line through its {name} (first axis) and its parameters, coloured by {name}; click a colour to hide its lines.{}{}",
            if any_inactive {
                " A conditional parameter's inactive trials pass below its axis."
            } else {
                ""
            },
            if order.len() > MAX_PARAMS {
                format!(
                    " The {MAX_PARAMS} most important of {} parameters are shown.",
                    order.len()
                )
            } else {
                String::new()
            }
        ),
        panels: vec![svg.finish()],
    }
}

/// Slice: the objective against each parameter, one panel per parameter.
pub fn slice(study: &StudyData, k: usize, order: &[String]) -> Figure {
    let name = study.study.objective_name(k);
    let title = format!("Slice plot of {name}");
    let points = scored(study, k);
    if points.is_empty() {
        return empty("slice", &title, "No trial has completed yet.");
    }
    let (lo, hi) = range(points.iter().map(|(_, v)| *v));
    let mut panels = Vec::new();
    for p in order.iter().take(MAX_PARAMS) {
        let Some(param) = study.study.space.get(p) else {
            continue;
        };
        let area = Area::new(360.0, 270.0, 0.0);
        let x = Axis::param(&param.domain, area.x0, area.x1);
        let y = Axis::values(lo, hi, area.y1, area.y0);
        let mut svg = Svg::new(&area, &format!("{name} against {p}"));
        svg.axes(&area, &x, &y, p, &name);
        let dots: Vec<Point> = points
            .iter()
            .filter_map(|(t, v)| {
                let px = x.px_value(t.params.get(p)?)?;
                Some((px, y.px(*v), t.number))
            })
            .collect();
        svg.dots("complete", COMPLETE, 2.5, &dots);
        panels.push(svg.finish());
    }
    Figure {
        id: "slice",
        title,
        caption: format!(
            "{name} against each parameter's value, one panel per parameter (most important first); a conditional parameter's panel shows the trials where it was active."
        ),
        panels,
    }
}

/// Contour: the objective over the two most important parameters, each cell of a grid coloured
/// by the value of the trial nearest to it, with the trials on top.
pub fn contour(study: &StudyData, k: usize, order: &[String]) -> Option<Figure> {
    let name = study.study.objective_name(k);
    let title = format!("Contour of {name}");
    let (px, py) = match order {
        [a, b, ..] => (study.study.space.get(a)?, study.study.space.get(b)?),
        _ => return None,
    };
    let points = scored(study, k);
    let area = Area::new(600.0, 460.0, 0.0);
    let x = Axis::param(&px.domain, area.x0, area.x1);
    let y = Axis::param(&py.domain, area.y1, area.y0);
    let placed: Vec<(f64, f64, f64, u64)> = points
        .iter()
        .filter_map(|(t, v)| {
            Some((
                x.px_value(t.params.get(&px.name)?)?,
                y.px_value(t.params.get(&py.name)?)?,
                *v,
                t.number,
            ))
        })
        .collect();
    if placed.is_empty() {
        return Some(empty(
            "contour",
            &title,
            &format!("No complete trial has both {} and {}.", px.name, py.name),
        ));
    }
    let (lo, hi) = range(placed.iter().map(|p| p.2));
    let mut svg = Svg::new(&area, &title);
    let cells = 36usize;
    let (cw, ch) = (
        (area.x1 - area.x0) / cells as f64,
        (area.y1 - area.y0) / cells as f64,
    );
    let mut paths = vec![String::new(); VIRIDIS.len()];
    for i in 0..cells {
        for j in 0..cells {
            let (cx, cy) = (
                area.x0 + (i as f64 + 0.5) * cw,
                area.y0 + (j as f64 + 0.5) * ch,
            );
            let nearest = placed
                .iter()
                .map(|p| ((p.0 - cx).powi(2) + (p.1 - cy).powi(2), p.2))
                .min_by(|a, b| a.0.total_cmp(&b.0))
                .map_or(lo, |(_, v)| v);
            paths[bin(nearest, lo, hi, VIRIDIS.len())].push_str(&format!(
                "M{:.1} {:.1}h{:.2}v{:.2}h-{:.2}z",
                cx - cw / 2.0,
                cy - ch / 2.0,
                cw + 0.3,
                ch + 0.3,
                cw + 0.3
            ));
        }
    }
    for (b, d) in paths.iter().enumerate() {
        if !d.is_empty() {
            svg.raw(&format!(
                "<path class=\"s-bin{b}\" fill=\"{}\" fill-opacity=\"0.8\" d=\"{d}\"/>",
                VIRIDIS[b]
            ));
        }
    }
    svg.axes(&area, &x, &y, &px.name, &py.name);
    let dots: Vec<Point> = placed.iter().map(|p| (p.0, p.1, p.3)).collect();
    svg.dots("complete", "#111", 2.0, &dots);
    let legend: Vec<(String, &str, String)> = (0..VIRIDIS.len())
        .map(|b| {
            let from = between(lo, hi, b as f64 / VIRIDIS.len() as f64);
            (format!("bin{b}"), VIRIDIS[b], format!("≥{}", short(from)))
        })
        .collect();
    let legend: Vec<(&str, &str, String)> = legend
        .iter()
        .map(|(s, c, l)| (s.as_str(), *c, l.clone()))
        .collect();
    svg.legend(&area, &legend);
    Some(Figure {
        id: "contour",
        title,
        caption: format!(
            "{name} over the two most important parameters, {} and {}: each cell takes the colour of the {name} of its nearest complete trial (dots).",
            px.name, py.name
        ),
        panels: vec![svg.finish()],
    })
}

/// The Pareto front of a multi-objective study: each pair of the first three objectives, the
/// front's trials apart from the dominated ones.
pub fn pareto(study: &StudyData) -> Option<Figure> {
    let directions = &study.study.directions;
    if directions.len() < 2 {
        return None;
    }
    let title = "Pareto front".to_owned();
    let complete: Vec<&TrialData> = study
        .complete()
        .filter(|t| t.values.iter().all(|v| v.is_finite()))
        .collect();
    if complete.is_empty() {
        return Some(empty("pareto", &title, "No trial has completed yet."));
    }
    let values: Vec<&[f64]> = complete.iter().map(|t| t.values.as_slice()).collect();
    let mut on_front = vec![false; complete.len()];
    for i in pareto_front(&values, directions) {
        on_front[i] = true;
    }
    let m = directions.len().min(3);
    let mut panels = Vec::new();
    for a in 0..m {
        for b in a + 1..m {
            let area = Area::new(440.0, 360.0, 0.0);
            let (xl, xh) = range(complete.iter().map(|t| t.values[a]));
            let (yl, yh) = range(complete.iter().map(|t| t.values[b]));
            let x = Axis::values(xl, xh, area.x0, area.x1);
            let y = Axis::values(yl, yh, area.y1, area.y0);
            let (xn, yn) = (study.study.objective_name(a), study.study.objective_name(b));
            let mut svg = Svg::new(&area, &format!("{yn} against {xn}"));
            svg.axes(
                &area,
                &x,
                &y,
                &format!("{xn} ({})", directions[a]),
                &format!("{yn} ({})", directions[b]),
            );
            let point = |t: &TrialData| (x.px(t.values[a]), y.px(t.values[b]), t.number);
            let dominated: Vec<Point> = complete
                .iter()
                .zip(&on_front)
                .filter(|(_, f)| !**f)
                .map(|(t, _)| point(t))
                .collect();
            let mut front: Vec<Point> = complete
                .iter()
                .zip(&on_front)
                .filter(|(_, f)| **f)
                .map(|(t, _)| point(t))
                .collect();
            svg.dots("dominated", DOMINATED, 2.5, &dominated);
            if m == 2 {
                front.sort_by(|p, q| p.0.total_cmp(&q.0));
                let line: Vec<(f64, f64)> = front.iter().map(|p| (p.0, p.1)).collect();
                svg.lines("front", FAILED, 1.0, 0.6, &[line]);
            }
            svg.dots("front", FAILED, 3.5, &front);
            svg.legend(
                &area,
                &[
                    ("front", FAILED, format!("Pareto front ({})", front.len())),
                    (
                        "dominated",
                        DOMINATED,
                        format!("dominated ({})", dominated.len()),
                    ),
                ],
            );
            panels.push(svg.finish());
        }
    }
    let hv = study.hypervolume.as_ref().map_or_else(String::new, |h| {
        format!(
            " The front's hypervolume is {}{} against the reference point ({}): each objective's worst complete value, a tenth of its range further.",
            num(h.value),
            if h.estimate { " (a Monte Carlo estimate)" } else { "" },
            h.reference_point.iter().map(|v| num(*v)).collect::<Vec<_>>().join(", ")
        )
    });
    Some(Figure {
        id: "pareto",
        title,
        caption: format!(
            "Complete trials by their objectives{}; the trials no other trial dominates form the Pareto front.{hv}",
            if directions.len() > 3 {
                " (the first three objectives, in pairs)"
            } else {
                ""
            }
        ),
        panels,
    })
}

/// Intermediate values: each trial's reported values by step, coloured by how it ended.
pub fn intermediate(study: &StudyData) -> Option<Figure> {
    let reporting: Vec<&TrialData> = study
        .trials
        .iter()
        .filter(|t| t.intermediate.iter().any(|(_, v)| v.is_finite()))
        .collect();
    if reporting.is_empty() {
        return None;
    }
    let title = "Intermediate values".to_owned();
    let total: usize = reporting.iter().map(|t| t.intermediate.len()).sum();
    let stride = total.div_ceil(MAX_CURVE_POINTS).max(1);
    let shown: Vec<&TrialData> = reporting.iter().copied().step_by(stride).collect();
    // One trial alone may have reported millions of steps.
    let share = (MAX_CURVE_POINTS / shown.len()).max(2);
    let thinned = shown.iter().any(|t| t.intermediate.len() > share);
    let finite = |t: &&TrialData| -> Vec<(u64, f64)> {
        let all: Vec<(u64, f64)> = t
            .intermediate
            .iter()
            .copied()
            .filter(|(_, v)| v.is_finite())
            .collect();
        if all.len() <= share {
            return all;
        }
        let every = all.len().div_ceil(share - 1);
        let mut kept: Vec<(u64, f64)> = all.iter().copied().step_by(every).collect();
        // The last report, where the trial's dot is.
        if kept.last() != all.last() {
            kept.extend(all.last());
        }
        kept
    };
    let (s_lo, s_hi) = range(
        shown
            .iter()
            .flat_map(|t| t.intermediate.iter().map(|(s, _)| *s as f64)),
    );
    let (v_lo, v_hi) = range(
        shown
            .iter()
            .flat_map(|t| t.intermediate.iter().map(|(_, v)| *v))
            .filter(|v| v.is_finite()),
    );
    let area = Area::new(720.0, 380.0, 0.0);
    let x = Axis::values(s_lo, s_hi, area.x0, area.x1);
    let y = Axis::values(v_lo, v_hi, area.y1, area.y0);
    let mut svg = Svg::new(&area, &title);
    svg.axes(&area, &x, &y, "step", "intermediate value");
    let mut legend = Vec::new();
    for state in [
        TrialState::Complete,
        TrialState::Pruned,
        TrialState::Failed,
        TrialState::Running,
    ] {
        let of_state: Vec<&TrialData> =
            shown.iter().copied().filter(|t| t.state == state).collect();
        if of_state.is_empty() {
            continue;
        }
        let mut lines = Vec::new();
        let mut ends = Vec::new();
        for t in &of_state {
            let pts: Vec<(f64, f64)> = finite(t)
                .iter()
                .map(|(s, v)| (x.px(*s as f64), y.px(*v)))
                .collect();
            if let Some(&(ex, ey)) = pts.last() {
                ends.push((ex, ey, t.number));
            }
            lines.push(pts);
        }
        let opacity = if of_state.len() > 500 { 0.25 } else { 0.6 };
        svg.lines(state_name(state), state_color(state), 1.0, opacity, &lines);
        svg.dots(state_name(state), state_color(state), 2.5, &ends);
        legend.push((
            state_name(state),
            state_color(state),
            format!("{} ({})", state_name(state), of_state.len()),
        ));
    }
    svg.legend(&area, &legend);
    Some(Figure {
        id: "intermediate",
        title,
        caption: format!(
            "The values trials reported by step, coloured by how each trial ended; a dot marks each trial's last report (a pruned trial's is where it was stopped).{}{}",
            if stride > 1 {
                format!(
                    " Every {stride}th of the {} reporting trials is drawn, to keep the page small.",
                    reporting.len()
                )
            } else {
                String::new()
            },
            if thinned {
                format!(
                    " A curve of more than {share} reports is drawn through an even sample of them and its last."
                )
            } else {
                String::new()
            }
        ),
        panels: vec![svg.finish()],
    })
}

/// The empirical distribution function of the objective over the complete trials.
pub fn edf(study: &StudyData, k: usize) -> Figure {
    let name = study.study.objective_name(k);
    let title = format!("Empirical distribution of {name}");
    let mut values: Vec<f64> = scored(study, k).into_iter().map(|(_, v)| v).collect();
    if values.is_empty() {
        return empty("edf", &title, "No trial has completed yet.");
    }
    values.sort_by(f64::total_cmp);
    let area = Area::new(720.0, 340.0, 0.0);
    let (lo, hi) = (values[0], values[values.len() - 1]);
    let x = Axis::values(lo, hi, area.x0, area.x1);
    let y = Axis::values(0.0, 1.0, area.y1, area.y0);
    let mut svg = Svg::new(&area, &title);
    svg.axes(&area, &x, &y, &name, "share of complete trials");
    let n = values.len() as f64;
    let mut line = vec![(x.px(lo), y.px(0.0))];
    for (i, v) in values.iter().enumerate() {
        line.push((x.px(*v), y.px(i as f64 / n)));
        line.push((x.px(*v), y.px((i + 1) as f64 / n)));
    }
    line.push((x.px(hi), y.px(1.0)));
    line.dedup_by(|a, b| (a.0 - b.0).abs() < 0.5 && (a.1 - b.1).abs() < 0.5);
    svg.lines("edf", COMPLETE, 2.0, 1.0, &[line]);
    Figure {
        id: "edf",
        title,
        caption: format!(
            "The share of the complete trials whose {name} is at most the value on the horizontal axis: the steeper and earlier the rise, the more trials found low values."
        ),
        panels: vec![svg.finish()],
    }
}

/// Timeline: each trial a bar from its start to its end, coloured by state.
pub fn timeline(study: &StudyData) -> Figure {
    let title = "Timeline".to_owned();
    let started: Vec<&TrialData> = study.trials.iter().filter(|t| t.started_ms > 0).collect();
    let Some(t0) = started.iter().map(|t| t.started_ms).min() else {
        return empty("timeline", &title, "No trial has started yet.");
    };
    let end_of = |t: &TrialData| t.finished_ms.unwrap_or(t.started_ms).max(t.started_ms);
    let t1 = started.iter().map(|t| end_of(t)).max().unwrap_or(t0);
    let area = Area::new(720.0, 380.0, 0.0);
    let x = Axis::values(0.0, (t1 - t0) as f64 / 1000.0, area.x0, area.x1);
    let last = started.iter().map(|t| t.number).max().unwrap_or(0);
    let y = Axis::values(0.0, last as f64, area.y1, area.y0);
    let thickness = ((area.y1 - area.y0) / (last as f64 + 1.0)).clamp(1.0, 6.0);
    let mut svg = Svg::new(&area, &title);
    svg.axes(
        &area,
        &x,
        &y,
        "seconds since the first trial started",
        "trial",
    );
    let mut legend = Vec::new();
    for state in [
        TrialState::Complete,
        TrialState::Pruned,
        TrialState::Failed,
        TrialState::Running,
    ] {
        let bars: Vec<(f64, f64, f64, u64)> = started
            .iter()
            .filter(|t| t.state == state)
            .map(|t| {
                let end = if t.state == TrialState::Running {
                    t1
                } else {
                    end_of(t)
                };
                let (a, b) = (
                    x.px((t.started_ms - t0) as f64 / 1000.0),
                    x.px((end - t0) as f64 / 1000.0),
                );
                (a, y.px(t.number as f64), b - a, t.number)
            })
            .collect();
        if bars.is_empty() {
            continue;
        }
        legend.push((
            state_name(state),
            state_color(state),
            format!("{} ({})", state_name(state), bars.len()),
        ));
        svg.bars(state_name(state), state_color(state), thickness, &bars);
    }
    svg.legend(&area, &legend);
    Figure {
        id: "timeline",
        title,
        caption: "When each trial ran: a bar from its start to its end (running trials to the latest time known), coloured by state; overlapping bars are trials run in parallel.".into(),
        panels: vec![svg.finish()],
    }
}

/// Rank: pairs of the three most important parameters, each complete trial a dot coloured by
/// the rank of its value (best fifth to worst fifth); with one parameter, the objective
/// against it.
pub fn rank(study: &StudyData, k: usize, order: &[String]) -> Option<Figure> {
    let name = study.study.objective_name(k);
    let title = format!("Rank of {name}");
    let points = scored(study, k);
    if points.is_empty() || order.is_empty() {
        return None;
    }
    let direction = study
        .study
        .directions
        .get(k)
        .copied()
        .unwrap_or(Direction::Minimize);
    let mut by_rank: Vec<usize> = (0..points.len()).collect();
    by_rank.sort_by(|&a, &b| {
        direction
            .to_loss(points[a].1)
            .total_cmp(&direction.to_loss(points[b].1))
    });
    let groups = 5usize;
    let mut group = vec![0usize; points.len()];
    for (r, &i) in by_rank.iter().enumerate() {
        group[i] = r * groups / points.len();
    }
    let colors = [VIRIDIS[7], VIRIDIS[5], VIRIDIS[4], VIRIDIS[2], VIRIDIS[0]];
    let labels = ["best 20%", "20–40%", "40–60%", "60–80%", "worst 20%"];
    let top: Vec<&str> = order.iter().take(3).map(String::as_str).collect();
    let pairs: Vec<(&str, Option<&str>)> = match top.len() {
        1 => vec![(top[0], None)],
        2 => vec![(top[0], Some(top[1]))],
        _ => vec![
            (top[0], Some(top[1])),
            (top[0], Some(top[2])),
            (top[1], Some(top[2])),
        ],
    };
    let (lo, hi) = range(points.iter().map(|(_, v)| *v));
    let mut panels = Vec::new();
    for (a, b) in pairs {
        let area = Area::new(420.0, 330.0, 0.0);
        let pa = study.study.space.get(a)?;
        let x = Axis::param(&pa.domain, area.x0, area.x1);
        let (y, y_label) = match b {
            Some(b) => (
                Axis::param(&study.study.space.get(b)?.domain, area.y1, area.y0),
                b.to_owned(),
            ),
            None => (Axis::values(lo, hi, area.y1, area.y0), name.clone()),
        };
        let mut svg = Svg::new(&area, &format!("rank over {a} and {y_label}"));
        svg.axes(&area, &x, &y, a, &y_label);
        // Worst first, so the best are drawn on top.
        for g in (0..groups).rev() {
            let dots: Vec<Point> = points
                .iter()
                .zip(&group)
                .filter(|(_, gi)| **gi == g)
                .filter_map(|((t, v), _)| {
                    let px = x.px_value(t.params.get(a)?)?;
                    let py = match b {
                        Some(b) => y.px_value(t.params.get(b)?)?,
                        None => y.px(*v),
                    };
                    Some((px, py, t.number))
                })
                .collect();
            svg.dots(&format!("r{g}"), colors[g], 3.0, &dots);
        }
        let legend: Vec<(String, &str, String)> = (0..groups)
            .map(|g| (format!("r{g}"), colors[g], labels[g].to_owned()))
            .collect();
        let legend: Vec<(&str, &str, String)> = legend
            .iter()
            .map(|(s, c, l)| (s.as_str(), *c, l.clone()))
            .collect();
        svg.legend(&area, &legend);
        panels.push(svg.finish());
    }
    Some(Figure {
        id: "rank",
        title,
        caption: format!(
            "The complete trials over pairs of the most important parameters, coloured by the rank of their {name} ({direction}): where the best fifth gathers is where the good values are."
        ),
        panels,
    })
}
