//! The dashboard in a real browser (headless Chromium over the DevTools protocol): the study
//! list, a study's plots, its trial table (a filter, a sort), and a live update when trials
//! finish, read from the DOM; a
//! screenshot is saved as target/dashboard.png. Without Chromium the test is skipped with a
//! message, except under CI (`CI=true`), where `.ci/run` installs it.

mod support;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use support::cdp::{Browser, find_chromium};
use support::{Running, create_study};

#[test]
fn the_dashboard_lists_studies_draws_plots_and_updates_live() {
    let Some(chromium) = find_chromium() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI must run the browser test: install Chromium (`apt-get install -y chromium`) or set HYPERPLUG_CHROMIUM"
        );
        eprintln!("skipped: no Chromium (install `chromium` or set HYPERPLUG_CHROMIUM)");
        return;
    };
    let server = Running::start(|_| {});
    let mut c = server.client();
    create_study(&mut c, "browser", 40);
    let tell = |c: &mut support::Client, k: usize| {
        for _ in 0..k {
            let a = c.post("/api/studies/browser/ask", "").json();
            let n = a["number"].as_u64().unwrap();
            let x = a["params"]["x"].as_f64().unwrap();
            let r = c.post_json(
                &format!("/api/studies/browser/trials/{n}/tell"),
                json!({"value": x * x}),
            );
            assert_eq!(r.status, 200);
        }
    };
    tell(&mut c, 20);

    let base = format!("http://{}", server.addr);
    let mut browser = Browser::start(&chromium);
    browser.open(&format!("{base}/"));
    let long = Duration::from_secs(60);
    browser.wait_for(
        "document.querySelectorAll('#studies tr.study').length === 1",
        long,
        "the study list",
    );
    assert_eq!(
        browser.eval("document.querySelector('#studies tr.study a').textContent"),
        json!("browser")
    );

    browser.open(&format!("{base}/studies/browser"));
    browser.wait_for(
        "document.querySelectorAll('#figures section.figure svg').length > 0",
        long,
        "the plots",
    );
    assert_eq!(
        browser.eval("document.getElementById('count-complete').textContent"),
        json!("20")
    );
    let history = browser.eval("(function(){var f=document.getElementById('fig-history'); return f ? f.querySelectorAll('path[data-n]').length : -1})()");
    assert!(
        history.as_i64().unwrap() > 0,
        "the history plot has points: {history}"
    );

    // The trial table (the report's), from the event stream: every trial, a filter on a
    // parameter, a sort, the state filter.
    browser.wait_for(
        "document.getElementById('hp-count').textContent === '20 of 20 trials'",
        long,
        "the trial table",
    );
    assert_eq!(
        browser.eval("document.querySelectorAll('#hp-table tbody tr').length"),
        json!(20)
    );
    let xs: Vec<f64> = c.get("/api/studies/browser").json()["trials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["params"]["x"].as_f64().unwrap())
        .collect();
    let negative = xs.iter().filter(|x| **x < 0.0).count();
    // The `x` column's cells of the rows shown, as numbers.
    let column_x = "(function(){var hs=[].map.call(document.querySelectorAll('#hp-table thead th'),function(h){return h.textContent}); var i=hs.indexOf('x'); return [].map.call(document.querySelectorAll('#hp-table tbody tr'),function(r){return Number(r.children[i].textContent)})})()";
    browser.eval(
        "(function(){var f=document.getElementById('hp-filter'); f.value='x<0'; f.dispatchEvent(new Event('input'))})()",
    );
    assert_eq!(
        browser.eval("document.getElementById('hp-count').textContent"),
        json!(format!("{negative} of 20 trials"))
    );
    let shown = browser.eval(column_x);
    let shown: Vec<f64> = serde_json::from_value(shown).unwrap();
    assert_eq!(shown.len(), negative);
    assert!(shown.iter().all(|x| *x < 0.0), "{shown:?}");
    browser.eval(
        "(function(){var f=document.getElementById('hp-filter'); f.value=''; f.dispatchEvent(new Event('input')); [].find.call(document.querySelectorAll('#hp-table thead th'),function(h){return h.textContent==='x'}).click()})()",
    );
    let sorted: Vec<f64> = serde_json::from_value(browser.eval(column_x)).unwrap();
    let min = xs.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        (sorted[0] - min).abs() <= 1e-4 * min.abs().max(1.0),
        "sorted by x: {sorted:?}, min {min}"
    );
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]), "{sorted:?}");
    browser.eval(
        "(function(){var s=document.getElementById('hp-state'); s.value='p'; s.dispatchEvent(new Event('change'))})()",
    );
    assert_eq!(
        browser.eval("document.getElementById('hp-count').textContent"),
        json!("0 of 20 trials")
    );
    browser.eval(
        "(function(){var s=document.getElementById('hp-state'); s.value='c'; s.dispatchEvent(new Event('change'))})()",
    );

    tell(&mut c, 3);
    browser.wait_for(
        "document.getElementById('count-complete').textContent === '23'",
        long,
        "the live counts",
    );
    browser.wait_for(
        "document.querySelector('#latest tr[data-n=\"22\"]') !== null",
        long,
        "the new trial's row",
    );
    browser.wait_for(
        "document.getElementById('hp-count').textContent === '23 of 23 trials'",
        long,
        "the trial table updated live",
    );
    browser.wait_for(
        "/plots drawn [2-9]/.test(document.getElementById('live').textContent)",
        long,
        "the plots redrawn",
    );
    let shot = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/dashboard.png");
    browser.screenshot(&shot);
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a real screenshot"
    );
}
