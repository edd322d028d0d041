use hyperplug_core::{Direction, Domain, Param, Space, Trial, TrialState, Value};
use hyperplug_schema::{StudyData, StudyInfo, TrialData};

use super::*;

/// A study with every kind of parameter and trial: `x` matters most, `kind` and `units`
/// (active when kind is "wide") less, `noise` not at all; every 7th trial pruned after reporting,
/// every 11th failed, the last running.
fn study(n: u64, directions: Vec<Direction>) -> StudyData {
    let space = Space::new(vec![
        Param::new("x", Domain::float(1e-3, 10.0).log()),
        Param::new("kind", Domain::choice(["narrow", "wide", "deep"])),
        Param::new("units", Domain::int(1, 64)).when("kind", ["wide"]),
        Param::new("noise", Domain::float(0.0, 1.0)),
    ])
    .unwrap();
    let mut info = StudyInfo::new("demo <b>&", directions.clone(), space.clone());
    info.strategy = Some("random".into());
    let trials = (0..n)
        .map(|i| {
            // Independent uniform draws per trial and parameter (SplitMix64).
            let u = |salt: u64| {
                let mut z = (i * 64 + salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
            };
            let mut salt = 0;
            let params = space.assign(|p| {
                salt += 1;
                p.domain.from_unit(u(salt))
            });
            let mut t = Trial::running(i, params.clone(), 1_700_000_000_000 + i * 500);
            let lx = params["x"].as_f64().unwrap_or(1.0).log10();
            let kind = match params["kind"].as_str() {
                Some("wide") => 0.5,
                Some("deep") => 1.0,
                _ => 0.0,
            };
            let units = params.get("units").and_then(Value::as_i64).unwrap_or(0) as f64;
            let v = (lx - 0.5).powi(2) + kind + units / 64.0;
            t.duration_s = Some(0.4 + (i % 5) as f64 * 0.3);
            t.intermediate = (0..5).map(|s| (s, v + 1.0 / (s as f64 + 1.0))).collect();
            if i == n - 1 {
                t.duration_s = None;
            } else if i % 11 == 3 {
                t.state = TrialState::Failed;
                t.message = Some("boom </script>".into());
            } else if i % 7 == 2 {
                t.state = TrialState::Pruned;
                t.intermediate.truncate(2);
            } else {
                t.state = TrialState::Complete;
                t.values = directions
                    .iter()
                    .enumerate()
                    .map(|(k, _)| if k == 0 { v } else { 1.0 / (v + 0.1) + u(9) })
                    .collect();
            }
            TrialData::from(&t)
        })
        .collect();
    StudyData::new(info, trials)
}

/// The numbers in a series' `data-n` in the figure `id`.
fn series(html: &str, id: &str, s: &str) -> Vec<u64> {
    let fig = &html[html.find(&format!("id=\"fig-{id}\"")).expect(id)..];
    let fig = &fig[..fig.find("</section>").unwrap_or(fig.len())];
    let Some(at) = fig.find(&format!("class=\"s-{s}\"")) else {
        return Vec::new();
    };
    let rest = &fig[at..];
    let start = rest.find("data-n=\"").expect("data-n") + 8;
    let end = start + rest[start..].find('"').expect("end");
    rest[start..end]
        .split(',')
        .map(|n| n.parse().expect("number"))
        .collect()
}

#[test]
fn the_report_has_every_plot_and_shows_each_state_as_such() {
    let s = study(150, vec![Direction::Minimize]);
    let html = render(&s, &Options::default()).unwrap();
    for id in [
        "history",
        "importance",
        "parallel",
        "slice",
        "contour",
        "rank",
        "intermediate",
        "edf",
        "timeline",
    ] {
        assert!(html.contains(&format!("id=\"fig-{id}\"")), "{id} missing");
    }
    assert!(
        !html.contains("id=\"fig-pareto\""),
        "one objective has no front"
    );
    let complete: Vec<u64> = s.complete().map(|t| t.number).collect();
    assert_eq!(series(&html, "history", "complete"), complete);
    let pruned: Vec<u64> = s
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Pruned)
        .map(|t| t.number)
        .collect();
    assert!(!pruned.is_empty());
    assert_eq!(series(&html, "history", "pruned"), pruned);
    assert_eq!(series(&html, "intermediate", "pruned"), pruned);
    assert_eq!(series(&html, "timeline", "pruned"), pruned);
    let failed = series(&html, "history", "failed");
    assert_eq!(failed.len() as u64, s.counts.failed);
    assert_eq!(series(&html, "timeline", "running"), [149]);
    // The best trial is named with its value.
    let best = &s.best_trials[0];
    assert!(html.contains(&format!("Trial {} has the best value", best.number)));
}

#[test]
fn the_page_is_self_contained_and_escapes_what_users_wrote() {
    let s = study(60, vec![Direction::Minimize]);
    let html = render(&s, &Options::default()).unwrap();
    for needle in [
        "http://", "https://", "src=", "url(", "@import", "//cdn", "<link",
    ] {
        assert!(
            !html.contains(needle),
            "the page refers outside itself: {needle}"
        );
    }
    assert!(html.contains("Study <code>demo &lt;b&gt;&amp;</code>"));
    assert!(!html.contains("<b>&"));
    // A message with "</script>" cannot end the data early.
    assert_eq!(html.matches("</script>").count(), 2);
    let start = html.find("id=\"hp-data\">").unwrap() + 13;
    let end = start + html[start..].find("</script>").unwrap();
    let data: serde_json::Value = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(data["rows"].as_array().unwrap().len(), 60);
    assert_eq!(
        data["params"],
        serde_json::json!(["x", "kind", "units", "noise"])
    );
    assert_eq!(data["rows"][3][1], "f");
    assert_eq!(data["rows"][3][6], "boom </script>");
}

#[test]
fn importances_put_the_irrelevant_parameter_last() {
    let s = study(300, vec![Direction::Minimize]);
    let imp = Importances::of(&s, 0, 32, None);
    let fanova = imp.fanova.as_ref().unwrap();
    assert_eq!(fanova[0].param, "x", "{fanova:?}");
    assert_eq!(fanova.last().unwrap().param, "noise", "{fanova:?}");
    let ped = imp.ped_anova.as_ref().unwrap();
    assert_eq!(ped.last().unwrap().param, "noise", "{ped:?}");
    assert_eq!(imp.order(&s)[0], "x");
    let fig = plots::importance(&s, 0, &imp);
    assert!(fig.panels[0].contains("fANOVA x:"));
}

#[test]
fn several_objectives_show_the_front_and_its_hypervolume() {
    let s = study(80, vec![Direction::Minimize, Direction::Maximize]);
    let html = render(&s, &Options::default()).unwrap();
    assert!(html.contains("id=\"fig-pareto\""));
    let front: Vec<u64> = s.best_trials.iter().map(|t| t.number).collect();
    let mut drawn = series(&html, "pareto", "front");
    drawn.sort_unstable();
    assert_eq!(drawn, front);
    let hv = s.hypervolume.as_ref().unwrap();
    assert!(html.contains(&format!(
        "Its hypervolume is <strong>{}</strong>",
        svg::num(hv.value)
    )));
    let e = render(
        &s,
        &Options {
            objective: 2,
            ..Options::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("has 2 objective(s)"), "{e}");
    let second = render(
        &s,
        &Options {
            objective: 1,
            ..Options::default()
        },
    )
    .unwrap();
    assert!(second.contains("Optimization history of value 1"));
}

#[test]
fn a_study_without_trials_still_renders() {
    let s = study(0, vec![Direction::Minimize]);
    let html = render(&s, &Options::default()).unwrap();
    assert!(html.contains("No trial has completed yet."));
    let one = study(1, vec![Direction::Minimize]);
    let html = render(&one, &Options::default()).unwrap();
    assert!(html.contains("id=\"fig-timeline\""));
}

/// A one-parameter study of `values` (trial i has `x` = i), with `message` on a failed trial.
fn plain(space: Space, values: &[f64], message: &str) -> StudyData {
    let mut trials: Vec<TrialData> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let params = space.assign(|p| p.domain.from_unit(i as f64 / values.len() as f64));
            let mut t = Trial::running(i as u64, params, 1_700_000_000_000 + i as u64);
            t.state = TrialState::Complete;
            t.values = vec![*v];
            t.intermediate = vec![(0, *v), (1, -*v)];
            TrialData::from(&t)
        })
        .collect();
    let mut failed = Trial::running(values.len() as u64, Default::default(), 1_700_000_000_000);
    failed.state = TrialState::Failed;
    failed.message = Some(message.into());
    trials.push(TrialData::from(&failed));
    StudyData::new(
        StudyInfo::new("plain", vec![Direction::Minimize], space),
        trials,
    )
}

/// The text of the page's data element.
fn data_text(html: &str) -> &str {
    let start = html.find("id=\"hp-data\">").expect("data") + 13;
    &html[start..start + html[start..].find("</script>").expect("end")]
}

#[test]
fn what_users_wrote_cannot_change_how_the_page_is_parsed() {
    // "<!--" then "<script" inside a script element make the parser skip the next "</script>":
    // the data would swallow the page's own script.
    let hostile = "<!--<script>";
    let space = Space::new(vec![
        Param::new(hostile, Domain::choice([hostile, "</script><b>"])),
        Param::new("y", Domain::float(0.0, 1.0)),
    ])
    .unwrap();
    let mut s = plain(space, &[1.0, 2.0, 3.0], hostile);
    s.study.name = hostile.into();
    s.study.metric_names = vec![hostile.into()];
    let html = render(&s, &Options::default()).unwrap();
    assert_eq!(
        html.matches("<script").count(),
        2 + SCRIPT.matches("<script").count(),
        "only the page's own"
    );
    assert_eq!(html.matches("</script>").count(), 2);
    assert!(!html.contains("<!--"));
    let text = data_text(&html);
    assert!(!text.contains('<'), "{text}");
    let data: serde_json::Value = serde_json::from_str(text).unwrap();
    assert_eq!(data["params"][0], hostile);
    assert_eq!(data["objectives"][0], hostile);
    assert_eq!(data["rows"][3][6], hostile);
}

#[test]
fn extreme_values_and_one_value_domains_are_drawn_at_finite_coordinates() {
    // Values of opposite signs near ±f64::MAX overflow `hi - lo`; a log domain of one value
    // divides by log(1) = 0. Either drew NaN coordinates (the browser drops the path).
    let space = Space::new(vec![
        Param::new("one", Domain::float(0.1, 0.1).log()),
        Param::new("y", Domain::float(-1.0, 1.0)),
    ])
    .unwrap();
    let s = plain(space, &[f64::MAX, -f64::MAX, 0.0, 1.0, -1e308], "x");
    let (figs, _) = figures(&s, &Options::default()).unwrap();
    let mut drawn = 0;
    for f in &figs {
        for p in &f.panels {
            assert!(!p.contains("NaN") && !p.contains("inf"), "{}: {p}", f.id);
            drawn += p.matches("h0").count();
        }
    }
    assert!(drawn > 20, "the points are drawn");
    for (lo, hi) in [(f64::MAX, -f64::MAX), (3.0, 3.0), (f64::MAX, f64::MAX)] {
        let a = svg::Axis::values(lo, hi, 0.0, 100.0);
        assert!(a.px(lo).is_finite() && a.px(hi).is_finite(), "{lo} {hi}");
        assert!(a.ticks.iter().all(|(p, _)| p.is_finite()), "{:?}", a.ticks);
        assert!(a.ticks.len() >= 2, "{lo} {hi}: {:?}", a.ticks);
    }
}

#[test]
fn a_huge_message_is_cut_in_the_page() {
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
    let long = "é".repeat(5_000_000);
    let s = plain(space, &[1.0, 2.0], &long);
    let html = render(&s, &Options::default()).unwrap();
    assert!(html.len() < 200_000, "{} bytes", html.len());
    let data: serde_json::Value = serde_json::from_str(data_text(&html)).unwrap();
    let shown = data["rows"][2][6].as_str().unwrap();
    assert_eq!(shown.chars().count(), MAX_MESSAGE_CHARS + 1);
    assert!(shown.starts_with("éé") && shown.ends_with('…'));
    let short = plain(Space::new(vec![]).unwrap(), &[1.0], "short");
    assert!(trials_json(&short).contains("\"short\""));
}

#[test]
fn one_trial_with_millions_of_reports_draws_at_most_the_curve_limit() {
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
    let mut s = plain(space, &[1.0, 2.0], "m");
    let n = 3 * plots::MAX_CURVE_POINTS as u64;
    s.trials[0].intermediate = (0..n).map(|i| (i, (i % 7) as f64)).collect();
    let fig = plots::intermediate(&s).unwrap();
    let panel = &fig.panels[0];
    // Each point is an `L`, each curve's first an `M`.
    let points = panel.matches('L').count();
    assert!(points <= plots::MAX_CURVE_POINTS, "{points} points");
    assert!(points >= plots::MAX_CURVE_POINTS / 2, "{points} points");
    assert!(fig.caption.contains("an even sample"), "{}", fig.caption);
    // The curve still ends at its last report, where its dot is: the highest step, at the right.
    let curve = &panel[panel.find("class=\"s-complete\"").unwrap()..];
    let d = &curve[curve.find(" d=\"").unwrap() + 4..];
    let d = &d[..d.find('"').unwrap()];
    let end = d.rsplit('L').next().unwrap();
    assert!(panel.contains(&format!("M{end}h0")), "{end}");
}

#[test]
fn the_data_of_many_trials_with_few_of_many_parameters_stays_small() {
    // A define-by-run study whose every trial suggests names of its own: 2,000 parameters, each
    // trial 4 of them.
    let params: Vec<Param> = (0..2_000)
        .map(|i| Param::new(format!("p{i}"), Domain::float(0.0, 1.0)))
        .collect();
    let space = Space::new(params).unwrap();
    let trials = (0..500u64)
        .map(|i| {
            let params = (4 * i..4 * i + 4)
                .map(|j| (format!("p{j}"), 0.5.into()))
                .collect();
            let mut t = Trial::running(i, params, 1_700_000_000_000);
            t.state = TrialState::Complete;
            t.values = vec![i as f64];
            TrialData::from(&t)
        })
        .collect();
    let s = StudyData::new(
        StudyInfo::new("wide", vec![Direction::Minimize], space),
        trials,
    );
    let json = trials_json(&s);
    assert!(json.len() < 100_000, "{} bytes", json.len());
    let data: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(data["params"][13], "p13");
    assert_eq!(
        data["rows"][3][3],
        serde_json::json!({"12": 0.5, "13": 0.5, "14": 0.5, "15": 0.5})
    );
    // A trial with most of them: an array, a null where inactive.
    let s = study(5, vec![Direction::Minimize]);
    let data: serde_json::Value = serde_json::from_str(&trials_json(&s)).unwrap();
    let kind = s.trials[0].params["kind"].clone();
    assert_eq!(data["rows"][0][3][1], serde_json::json!(kind.as_str()));
    assert_eq!(data["rows"][0][3].as_array().unwrap().len(), 4);
}

#[test]
fn a_document_whose_best_trial_has_no_value_still_renders() {
    // `hyperplug report --from FILE` reads the best trials as the document gives them.
    let mut s = study(10, vec![Direction::Minimize]);
    s.best_trials[0].values.clear();
    let html = render(&s, &Options::default()).unwrap();
    assert!(html.contains("has the best value (minimize): <strong>—</strong>"));
}
