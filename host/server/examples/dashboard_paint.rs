//! The dashboard's first paint of a large study in headless Chromium: stores a study of
//! `TRIALS` random-search trials in a temporary SQLite file, serves it, opens its page and
//! reports when the page first painted, when its summary showed every trial, and when the plots
//! were drawn.
//!
//! ```text
//! cargo run --release -p hyperplug-server --example dashboard_paint -- [TRIALS]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use hyperplug_engine::{
    Direction, Domain, Param, Registry, Settings, SharedStudy, Space, StudyConfig,
};

fn main() {
    let trials: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let chromium = support::cdp::find_chromium().expect("Chromium (apt-get install chromium)");
    let server = support::Running::start(|_| {});
    let space = Space::new(vec![
        Param::new("x", Domain::float(-5.0, 5.0)),
        Param::new("y", Domain::float(-5.0, 5.0)),
        Param::new("layers", Domain::int(1, 4)),
        Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
    ])
    .expect("space");
    let config = StudyConfig::new("large", space, vec![Direction::Minimize]).seed(1);
    let filled = Instant::now();
    let study = SharedStudy::create(
        &server.storage,
        config,
        "random",
        None,
        &Settings::default(),
        None,
        Some(trials),
        &Registry::bundled(),
    )
    .expect("study");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while let Some(lease) = study.ask().expect("ask") {
                    let p = lease.params();
                    let (x, y) = (
                        p["x"].as_f64().unwrap_or(0.0),
                        p["y"].as_f64().unwrap_or(0.0),
                    );
                    lease.tell(Ok((x * x + y * y).into())).expect("tell");
                }
            });
        }
    });
    eprintln!(
        "stored {trials} trials in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    let mut browser = support::cdp::Browser::start(&chromium);
    browser.open("about:blank");
    let started = Instant::now();
    browser.call(
        "Page.navigate",
        serde_json::json!({ "url": format!("http://{}/studies/large", server.addr) }),
    );
    let long = Duration::from_secs(300);
    // Times from the navigation's start, as the wall clock here sees them.
    browser.wait_for(
        "performance.getEntriesByName('first-contentful-paint').length > 0",
        long,
        "the first paint",
    );
    let fcp = browser.eval("performance.getEntriesByName('first-contentful-paint')[0].startTime");
    browser.wait_for(
        &format!("document.getElementById('count-complete') !== null && document.getElementById('count-complete').textContent === '{trials}'"),
        long,
        "the summary",
    );
    let summary = started.elapsed();
    browser.wait_for(
        "document.querySelectorAll('#figures section.figure svg').length > 0",
        long,
        "the plots",
    );
    let plots = started.elapsed();
    let figures = browser.eval("document.querySelectorAll('#figures section.figure').length");
    browser.wait_for(
        &format!("/ of {trials} trials$/.test(document.getElementById('hp-count').textContent)"),
        long,
        "the trial table",
    );
    let table = started.elapsed();
    // A filter and a sort over every trial, timed inside the page (each redraws one page of
    // rows).
    let filter_ms = browser.eval(
        "(function(){var t=performance.now(), f=document.getElementById('hp-filter'); f.value='x<0 y>0.5'; f.dispatchEvent(new Event('input')); return performance.now()-t})()",
    );
    let shown = browser.eval("document.getElementById('hp-count').textContent");
    let sort_ms = browser.eval(
        "(function(){var f=document.getElementById('hp-filter'); f.value=''; f.dispatchEvent(new Event('input')); var th=[].find.call(document.querySelectorAll('#hp-table thead th'),function(h){return h.textContent==='value'}); var t=performance.now(); th.click(); return performance.now()-t})()",
    );
    println!(
        "{trials} trials: the trial table filled within {:.2} s; filter `x<0 y>0.5` {:.0} ms ({shown}), sort by value {:.0} ms",
        table.as_secs_f64(),
        filter_ms.as_f64().unwrap_or(f64::NAN),
        sort_ms.as_f64().unwrap_or(f64::NAN),
    );
    println!(
        "{trials} trials: first contentful paint {:.0} ms after navigation start, summary of every trial within {:.2} s, {figures} plots drawn within {:.2} s",
        fcp.as_f64().unwrap_or(f64::NAN),
        summary.as_secs_f64(),
        plots.as_secs_f64()
    );
    let shot = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/dashboard-large.png");
    browser.screenshot(&shot);
}
