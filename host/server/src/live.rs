//! Watching stored studies: one watcher per study that a page views, which reads what changed
//! since its cursor in the store's finish order (and the running trials), merges it into its
//! copy of the study, and pushes the delta, then the redrawn plots, to every page that views
//! it. The store is opened read-only.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use hyperplug_core::StudyId;
use hyperplug_schema::{StudyData, TrialData};
use hyperplug_storage::{Location, Mode, Store};
use serde_json::json;
use tokio::sync::broadcast;

use crate::error::ApiError;

/// How often a watcher asks its store what changed.
const POLL: Duration = Duration::from_millis(250);
/// A watcher nobody listens to stops after this long.
const IDLE: Duration = Duration::from_secs(10);
/// Plots are redrawn at most this often, and at most a fifth of the time (a large study takes
/// a while to draw).
const REDRAW_EVERY: Duration = Duration::from_millis(500);
/// Parameter importances are computed for studies of at most this many trials.
const MAX_IMPORTANCE_TRIALS: usize = 5_000;
/// Plots are drawn from at most about this many trials (see [`drawn`]).
const MAX_DRAWN_TRIALS: usize = 20_000;

/// The store, opened read-only when first needed (it may not exist when the server starts).
pub(crate) struct ReadStore {
    url: String,
    store: Mutex<Option<Arc<dyn Store>>>,
}

impl ReadStore {
    pub fn new(url: &str) -> Self {
        ReadStore {
            url: url.to_owned(),
            store: Mutex::new(None),
        }
    }

    /// The store; `None` while a SQLite file does not exist yet.
    pub fn get(&self) -> Result<Option<Arc<dyn Store>>, ApiError> {
        let mut store = lock(&self.store);
        if let Some(s) = &*store {
            return Ok(Some(s.clone()));
        }
        let unavailable = |e: String| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e);
        let location = Location::parse(&self.url).map_err(|e| unavailable(e.to_string()))?;
        if let Location::Sqlite(path) = &location
            && !path.exists()
        {
            return Ok(None);
        }
        let opened = location
            .open_store(Mode::Read)
            .map_err(|e| unavailable(e.to_string()))?;
        *store = Some(opened.clone());
        Ok(Some(opened))
    }
}

/// The study `name` as stored now, with its key and finish cursor.
pub(crate) fn load(
    state: &crate::State,
    name: &str,
) -> Result<(StudyData, StudyId, u64), ApiError> {
    let store = state
        .views
        .get()?
        .ok_or_else(|| crate::api::no_study(name))?;
    let unavailable = |e: hyperplug_storage::StorageError| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
    };
    let summary = store
        .find(name)
        .map_err(unavailable)?
        .ok_or_else(|| crate::api::no_study(name))?;
    let mut trials = Vec::with_capacity(summary.total() as usize);
    let mut cursor = 0;
    store
        .each_trial(summary.id, &mut |t| {
            cursor = cursor.max(t.finish_seq.unwrap_or(0));
            let mut data = TrialData::from(&t.trial);
            data.worker = t.worker;
            data.retry_of = t.retry_of;
            trials.push(data);
            true
        })
        .map_err(unavailable)?;
    let mut info = hyperplug_engine::studies::study_info(&*store, &summary);
    // A study made over HTTP stores its strategy in a definition of its own.
    if let Some(d) = hyperplug_engine::lease::AskTellDefinition::of(&summary.record) {
        info.strategy = Some(d.strategy);
        info.trial_budget = d.trials;
    }
    // Read here rather than by `studies::study_data`, for the finish cursor to watch from.
    let mut data = StudyData::new(info, trials);
    data.counts.queued = summary.queued;
    Ok((data, summary.id, cursor))
}

/// What a watcher pushes: an SSE event's name and its JSON data.
#[derive(Clone, Debug)]
pub(crate) struct Update {
    pub event: &'static str,
    pub data: Arc<String>,
}

/// One viewed study.
pub(crate) struct Watch {
    tx: broadcast::Sender<Update>,
    /// The latest summary and figures, and the study they show, for pages that open later.
    latest: Mutex<Latest>,
}

/// What a page that opens now starts from.
#[derive(Default)]
struct Latest {
    summary: Option<Update>,
    figures: Option<Update>,
    /// The study with every change pushed so far merged in; `None` only while the watcher
    /// merges the next (under the lock, so that a page's copy and its first delta meet).
    study: Option<Arc<StudyData>>,
}

impl Watch {
    /// The pushes to come, the latest summary and figures to start from, and the study as of
    /// those pushes (every later change comes as a delta).
    pub fn subscribe(
        &self,
    ) -> (
        broadcast::Receiver<Update>,
        Vec<Update>,
        Option<Arc<StudyData>>,
    ) {
        let latest = lock(&self.latest);
        let rx = self.tx.subscribe();
        let now = [latest.summary.clone(), latest.figures.clone()]
            .into_iter()
            .flatten()
            .collect();
        (rx, now, latest.study.clone())
    }
}

/// The `table` event: every trial of the study as the report's trial table reads them
/// ([`hyperplug_report::trials_json`]), sent once to each page; the `summary` events' changed
/// trials keep it up to date.
pub(crate) fn table(study: &StudyData) -> Update {
    Update {
        event: "table",
        data: Arc::new(hyperplug_report::trials_json(study)),
    }
}

/// The watchers, by study name.
#[derive(Default)]
pub(crate) struct Watchers {
    watching: Mutex<HashMap<String, Arc<Watch>>>,
}

/// The watcher of `name`, started (the study loaded and drawn) if none runs.
pub(crate) async fn watch(state: &Arc<crate::State>, name: &str) -> Result<Arc<Watch>, ApiError> {
    if let Some(w) = lock(&state.live.watching).get(name) {
        return Ok(w.clone());
    }
    let s = state.clone();
    let n = name.to_owned();
    let (data, id, cursor) = tokio::task::spawn_blocking(move || load(&s, &n)).await??;
    let (tx, _) = broadcast::channel(256);
    let watch = Arc::new(Watch {
        tx,
        latest: Mutex::new(Latest {
            summary: Some(summary(&data, &[])),
            ..Latest::default()
        }),
    });
    {
        let mut watching = lock(&state.live.watching);
        if let Some(w) = watching.get(name) {
            return Ok(w.clone());
        }
        watching.insert(name.to_owned(), watch.clone());
    }
    let data = Arc::new(data);
    lock(&watch.latest).study = Some(data.clone());
    let figures = draw(data.clone()).await;
    lock(&watch.latest).figures = Some(figures);
    tokio::spawn(run(
        state.clone(),
        name.to_owned(),
        watch.clone(),
        data,
        id,
        cursor,
    ));
    Ok(watch)
}

/// The `summary` event: counts, best trials, and the trials that changed, as [`shown`].
fn summary(data: &StudyData, changed: &[TrialData]) -> Update {
    let body = json!({
        "counts": data.counts,
        "best_trials": data.best_trials.iter().map(shown).collect::<Vec<_>>(),
        "hypervolume": data.hypervolume,
        "trials": changed.iter().map(shown).collect::<Vec<_>>(),
    });
    Update {
        event: "summary",
        data: Arc::new(body.to_string()),
    }
}

/// A trial as a page shows it (the latest changes, the best trial, the trial table's row):
/// without its intermediate values and user attributes, its message cut as the table's. Every
/// summary event carries the best trials (a whole Pareto front) to every page, and a client
/// may attach any amount to a trial.
fn shown(t: &TrialData) -> TrialData {
    TrialData {
        number: t.number,
        state: t.state,
        values: t.values.clone(),
        params: t.params.clone(),
        intermediate: Vec::new(),
        intermediate_values: Vec::new(),
        user_attrs: Default::default(),
        started_ms: t.started_ms,
        finished_ms: t.finished_ms,
        duration_s: t.duration_s,
        message: t.message.as_deref().map(hyperplug_report::cut_message),
        worker: t.worker.clone(),
        retry_of: t.retry_of,
    }
}

/// The `figures` event: every figure's markup, and the report script's trial data.
async fn draw(data: Arc<StudyData>) -> Update {
    let drawn = tokio::task::spawn_blocking(move || {
        let options = hyperplug_report::Options {
            importance: data.trials.len() <= MAX_IMPORTANCE_TRIALS,
            generator: format!("hyperplug dashboard {}", env!("CARGO_PKG_VERSION")),
            ..hyperplug_report::Options::default()
        };
        let (sample, note) = drawn(&data);
        let shown = sample.as_ref().unwrap_or(&data);
        let mut figures = match hyperplug_report::figures(shown, &options) {
            Ok((figures, _)) => figures,
            Err(e) => return json!({ "error": e.to_string() }),
        };
        if let Some(note) = note {
            for f in &mut figures {
                f.caption.push(' ');
                f.caption.push_str(&note);
            }
        }
        let html: String = figures.iter().map(hyperplug_report::figure_html).collect();
        json!({ "html": html, "data": hyperplug_report::trials_json(shown) })
    })
    .await
    .unwrap_or_else(|e| json!({ "error": format!("drawing stopped: {e}") }));
    Update {
        event: "figures",
        data: Arc::new(drawn.to_string()),
    }
}

/// The trials a large study's plots are drawn from, and a note for their captions: an even
/// sample of about [`MAX_DRAWN_TRIALS`], with every trial that improved the best so far (so the
/// history's best-so-far line is exact), the best trials or the Pareto front, and the running
/// ones. `None` when the study is small enough to draw whole. A browser draws 100,000 SVG points
/// per plot slowly, and they would hide one another anyway.
fn drawn(data: &StudyData) -> (Option<StudyData>, Option<String>) {
    let n = data.trials.len();
    if n <= MAX_DRAWN_TRIALS {
        return (None, None);
    }
    let stride = n.div_ceil(MAX_DRAWN_TRIALS);
    let best: std::collections::HashSet<u64> = data.best_trials.iter().map(|t| t.number).collect();
    let single = match data.study.directions[..] {
        [d] => Some(d),
        _ => None,
    };
    let mut record: Option<f64> = None;
    let kept: Vec<TrialData> = data
        .trials
        .iter()
        .enumerate()
        .filter(|(i, t)| {
            let improves = match (single, t.values.first()) {
                (Some(d), Some(&v)) if t.is_complete() => {
                    let better = record.is_none_or(|r| d.better(v, r));
                    if better {
                        record = Some(v);
                    }
                    better
                }
                _ => false,
            };
            i % stride == 0
                || improves
                || best.contains(&t.number)
                || t.state == hyperplug_core::TrialState::Running
        })
        .map(|(_, t)| t.clone())
        .collect();
    let note = format!(
        "Drawn from {} of the {n} trials: every {stride}th, each that improved the best so far, and the best.",
        kept.len()
    );
    let mut sample = StudyData::new(data.study.clone(), kept);
    sample.counts = data.counts;
    (Some(sample), Some(note))
}

/// Watches until nobody has listened for [`IDLE`].
async fn run(
    state: Arc<crate::State>,
    name: String,
    watch: Arc<Watch>,
    mut data: Arc<StudyData>,
    id: StudyId,
    mut cursor: u64,
) {
    let mut idle_since: Option<Instant> = None;
    let mut drawn_at = Instant::now();
    let mut draw_cost = Duration::ZERO;
    let mut stale = false;
    loop {
        tokio::time::sleep(POLL).await;
        if watch.tx.receiver_count() == 0 {
            let since = *idle_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= IDLE {
                let mut watching = lock(&state.live.watching);
                if watch.tx.receiver_count() == 0 {
                    watching.remove(&name);
                    return;
                }
            }
        } else {
            idle_since = None;
        }
        let Ok(Some(store)) = state.views.get() else {
            continue;
        };
        let at = cursor;
        let changes = tokio::task::spawn_blocking(move || {
            let (finished, cursor) = store.finished_since(id, at)?;
            let running = store.running(id)?;
            Ok::<_, hyperplug_core::Error>((finished, running, cursor))
        })
        .await;
        let (finished, running, next) = match changes {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                log::warn!("cannot read study `{name}`: {e}");
                continue;
            }
            Err(_) => continue,
        };
        cursor = next;
        // Under the lock, the page that subscribes meanwhile gets the study with this change
        // and no delta of it, or the study without it and the delta. The lock's copy is let go
        // first, so that the merge does not copy the study.
        {
            let mut latest = lock(&watch.latest);
            latest.study = None;
            let study = Arc::make_mut(&mut data);
            let mut changed = Vec::new();
            for t in finished.iter().chain(&running) {
                let t = TrialData::from(t);
                match study.trials.binary_search_by_key(&t.number, |x| x.number) {
                    Ok(i)
                        if study.trials[i].state == t.state
                            && study.trials[i].intermediate == t.intermediate => {}
                    Ok(i) => {
                        study.trials[i] = t.clone();
                        changed.push(t);
                    }
                    Err(i) => {
                        study.trials.insert(i, t.clone());
                        changed.push(t);
                    }
                }
            }
            if !changed.is_empty() {
                study.refresh();
                let update = summary(study, &changed);
                latest.summary = Some(summary(study, &[]));
                let _ = watch.tx.send(update);
                stale = true;
            }
            latest.study = Some(data.clone());
        }
        if stale && drawn_at.elapsed() >= REDRAW_EVERY.max(draw_cost * 5) {
            let started = Instant::now();
            let figures = draw(data.clone()).await;
            draw_cost = started.elapsed();
            drawn_at = Instant::now();
            stale = false;
            lock(&watch.latest).figures = Some(figures.clone());
            let _ = watch.tx.send(figures);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Direction, Domain, Param, Space, Trial, TrialState};
    use hyperplug_schema::StudyInfo;

    use super::*;

    #[test]
    fn a_summary_carries_no_attributes_intermediate_values_or_whole_messages() {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let mut t = Trial::running(0, [("x".to_owned(), 0.5.into())].into_iter().collect(), 1);
        t.state = TrialState::Complete;
        t.values = vec![0.25];
        t.intermediate = (0..100_000).map(|s| (s, 1.0)).collect();
        t.user_attrs.insert(
            "blob".into(),
            hyperplug_core::Value::Str("a".repeat(1 << 20)),
        );
        t.message = Some("m".repeat(1 << 20));
        let trial = TrialData::from(&t);
        let data = StudyData::new(
            StudyInfo::new("s", vec![Direction::Minimize], space),
            vec![trial.clone()],
        );
        let update = summary(&data, &[trial]);
        assert!(update.data.len() < 4_000, "{} bytes", update.data.len());
        let d: serde_json::Value = serde_json::from_str(&update.data).unwrap();
        for t in [&d["best_trials"][0], &d["trials"][0]] {
            assert_eq!(t["number"], 0);
            assert_eq!(t["values"][0], 0.25);
            assert_eq!(t["params"]["x"], 0.5);
            assert!(t["message"].as_str().unwrap().ends_with('…'));
        }
    }

    #[test]
    fn a_large_study_is_drawn_from_a_sample_that_keeps_every_improvement_and_the_best() {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let n = 50_000u64;
        // Values fall at a few trials only (the improvements), and trial 33,333 is the best.
        let trials = (0..n)
            .map(|i| {
                let v = match i {
                    7 => 0.5,
                    12_345 => 0.25,
                    33_333 => 0.125,
                    _ => 1.0 + (i % 97) as f64,
                };
                let mut t =
                    Trial::running(i, [("x".to_owned(), 0.5.into())].into_iter().collect(), 0);
                t.state = TrialState::Complete;
                t.values = vec![v];
                TrialData::from(&t)
            })
            .collect();
        let data = StudyData::new(
            StudyInfo::new("big", vec![Direction::Minimize], space),
            trials,
        );
        let (sample, note) = drawn(&data);
        let sample = sample.unwrap();
        let kept: Vec<u64> = sample.trials.iter().map(|t| t.number).collect();
        for must in [0, 7, 12_345, 33_333] {
            assert!(kept.contains(&must), "trial {must}");
        }
        assert!(kept.len() <= MAX_DRAWN_TRIALS + 4, "{}", kept.len());
        assert!(kept.len() >= MAX_DRAWN_TRIALS / 2, "{}", kept.len());
        assert_eq!(sample.counts.complete, n, "the counts stay the study's");
        assert_eq!(sample.best_trials[0].number, 33_333);
        assert!(note.unwrap().contains(&format!("of the {n} trials")));
        let small = StudyData::new(data.study.clone(), data.trials[..100].to_vec());
        assert!(drawn(&small).0.is_none());
    }
}
