//! One test suite for every backend: the `Storage` contract, which the in-memory store keeps too
//! ([`storage_contract`]), plus what only a shared database adds (other connections, heartbeats,
//! reaping, retries, listing). Each backend's tests call [`contract`] with a function that opens
//! a new connection to one fresh database, as another process would.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use hyperplug_core::{
    Direction, Domain, Error, MemoryStorage, Param, Params, Space, Storage, StudyId, StudyRecord,
    Trial, TrialState, Value,
};

use crate::Store;

type Make<'a> = &'a dyn Fn() -> Arc<dyn Store>;
type MakeStorage<'a> = &'a dyn Fn() -> Arc<dyn Storage>;

fn record(name: &str, domain: Domain) -> StudyRecord {
    let space = Space::new(vec![Param::new("x", domain)]).unwrap();
    StudyRecord::new(name, space, vec![Direction::Minimize])
}

/// A stored study record as JSON, for tests that write an old schema by hand.
pub(crate) fn record_json(name: &str) -> String {
    serde_json::to_string(&record(name, Domain::float(0.0, 1.0))).unwrap()
}

fn x(v: f64) -> Params {
    [("x".to_owned(), Value::Float(v))].into_iter().collect()
}

/// Reserves a number and gives it `params`, as a study does with its strategy's suggestion.
fn start(store: &dyn Storage, id: StudyId, params: &Params, limit: Option<u64>) -> Option<Trial> {
    let mut t = store.reserve(id, limit).unwrap()?;
    store.set_params(id, t.number, params).unwrap();
    t.params = params.clone();
    Some(t)
}

fn finished(mut t: Trial, value: f64) -> Trial {
    t.state = TrialState::Complete;
    t.values = vec![value];
    t.duration_s = Some(0.01);
    t
}

/// Runs the whole suite; `make` opens a new connection to the same fresh store.
pub(crate) fn contract(make: Make<'_>) {
    let storage = || make() as Arc<dyn Storage>;
    storage_contract(&storage);
    a_changed_definition_is_refused_saying_what_changed(make);
    a_trial_comes_back_exactly_as_stored(make);
    silent_trials_are_failed_and_retried_with_the_same_parameters(make);
    retries_come_on_top_of_the_budget_whenever_they_run(make);
    studies_are_listed_summarized_and_deleted(make);
}

/// The `Storage` contract alone, which every store keeps, the in-memory one included.
pub(crate) fn storage_contract(make: MakeStorage<'_>) {
    numbers_limits_queue_and_finish_order(make);
    a_reserved_number_gets_its_parameters_once_or_is_released(make);
    only_running_trials_take_reports_and_results(make);
    concurrent_workers_never_share_a_number_or_miss_a_result(make);
    openers_racing_to_create_a_study_all_get_the_first_seed(make);
}

#[test]
fn the_memory_store_keeps_the_contract() {
    let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
    // One store: every "connection" is the same one.
    storage_contract(&|| store.clone());
}

fn a_changed_definition_is_refused_saying_what_changed(make: Make<'_>) {
    let store = make();
    let id = store
        .open(&record("def", Domain::float(0.0, 1.0)))
        .unwrap()
        .0;
    let other = make();
    let mut again = record("def", Domain::float(0.0, 1.0));
    again.retries = 3;
    again.definition = serde_json::json!({"trials": 9});
    assert_eq!(
        other.open(&again).unwrap().0,
        id,
        "same study from another worker"
    );
    let stored = store.find("def").unwrap().unwrap().record;
    assert_eq!(
        (stored.retries, stored.definition),
        (3, serde_json::json!({"trials": 9})),
        "retries and definition replace the stored ones"
    );
    let err = store
        .open(&record("def", Domain::float(0.0, 0.5)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("parameter `x` was float [0, 1], now float [0, 0.5]"),
        "{err}"
    );
    let wider = record("def", Domain::float(-1.0, 1.0));
    assert_eq!(
        store.open(&wider).unwrap().0,
        id,
        "a wider range continues the study"
    );
    assert_eq!(
        store.find("def").unwrap().unwrap().record.space,
        wider.space,
        "and becomes the stored space"
    );
    let mut r = record("def", Domain::float(-1.0, 1.0));
    r.directions = vec![Direction::Maximize];
    assert!(
        store
            .open(&r)
            .unwrap_err()
            .to_string()
            .contains("directions")
    );
    assert_eq!(
        store.find("def").unwrap().unwrap().record.directions,
        [Direction::Minimize],
        "a refused open changes nothing"
    );
}

fn numbers_limits_queue_and_finish_order(make: MakeStorage<'_>) {
    let store = make();
    let id = store
        .open(&record("numbers", Domain::float(0.0, 1.0)))
        .unwrap()
        .0;
    let p = x(0.5);
    store.enqueue(id, &p).unwrap();
    store.enqueue(id, &x(0.25)).unwrap();
    let a = store.claim_queued(id, Some(2)).unwrap().unwrap();
    assert_eq!(
        (a.number, a.params.clone(), a.state),
        (0, p.clone(), TrialState::Running)
    );
    let b = start(&*store, id, &x(0.75), Some(2)).unwrap();
    assert_eq!(b.number, 1);
    assert!(
        store.reserve(id, Some(2)).unwrap().is_none(),
        "limit reached"
    );
    assert!(
        store.claim_queued(id, Some(2)).unwrap().is_none(),
        "an enqueued trial counts toward the limit"
    );
    let c = store.claim_queued(id, None).unwrap().unwrap();
    assert_eq!(
        (c.number, c.params.clone()),
        (2, x(0.25)),
        "first in, first out"
    );
    assert!(
        store.claim_queued(id, None).unwrap().is_none(),
        "queue empty"
    );

    store.finish(id, &finished(b.clone(), 1.0)).unwrap();
    assert_eq!(
        store.finish(id, &finished(b.clone(), 1.0)),
        Err(Error::NotRunning(1)),
        "finished once only"
    );
    let (new, cursor) = store.finished_since(id, 0).unwrap();
    assert_eq!((new.len(), new[0].number, cursor), (1, 1, 1));
    assert!(store.finished_since(id, cursor).unwrap().0.is_empty());
    store.finish(id, &finished(a.clone(), 0.5)).unwrap();
    let reader = make();
    let (new, cursor) = reader.finished_since(id, cursor).unwrap();
    assert_eq!(
        (new.len(), new[0].number, cursor),
        (1, 0, 2),
        "in finish order"
    );
    let (all, _) = reader.finished_since(id, 0).unwrap();
    assert_eq!(
        all.iter().map(|t| t.number).collect::<Vec<_>>(),
        [1, 0],
        "finish order, not number order"
    );
    let running = reader.running(id).unwrap();
    assert_eq!(running.iter().map(|t| t.number).collect::<Vec<_>>(), [2]);
}

fn a_reserved_number_gets_its_parameters_once_or_is_released(make: MakeStorage<'_>) {
    let store = make();
    let id = store
        .open(&record("reserve", Domain::float(0.0, 1.0)))
        .unwrap()
        .0;
    let t = store.reserve(id, Some(3)).unwrap().unwrap();
    assert_eq!(
        (t.number, t.state, t.params.is_empty()),
        (0, TrialState::Running, true)
    );
    let other = make();
    let seen = other.running(id).unwrap();
    assert_eq!(
        (seen.len(), seen[0].params.is_empty()),
        (1, true),
        "running, with no parameters yet"
    );
    store.set_params(id, t.number, &x(0.3)).unwrap();
    assert_eq!(other.running(id).unwrap()[0].params, x(0.3));
    assert_eq!(
        other.set_params(id, t.number, &x(0.9)),
        Err(Error::NotRunning(0)),
        "parameters are given once"
    );
    assert_eq!(store.set_params(id, 7, &x(0.9)), Err(Error::NotRunning(7)));
    assert_eq!(
        store.release(id, t.number),
        Err(Error::NotRunning(0)),
        "a trial with parameters is not released"
    );

    // A strategy with nothing left: the reserved number is withdrawn and no longer counts.
    let r = store.reserve(id, Some(3)).unwrap().unwrap();
    assert_eq!(r.number, 1);
    store.release(id, r.number).unwrap();
    assert_eq!(store.release(id, r.number), Err(Error::NotRunning(1)));
    assert!(
        store.running(id).unwrap().iter().all(|t| t.number != 1),
        "gone"
    );
    let (n2, n3) = (
        start(&*store, id, &x(0.1), Some(3)).unwrap(),
        start(&*store, id, &x(0.2), Some(3)).unwrap(),
    );
    assert_eq!(
        (n2.number, n3.number),
        (2, 3),
        "numbers are not given again; the released one did not count"
    );
    assert!(store.reserve(id, Some(3)).unwrap().is_none(), "3 counted");
    assert_eq!(store.counted(id).unwrap(), 3);

    // A strategy that failed: the reserved trial is failed with the message, and counts.
    let s = make();
    let id = s
        .open(&record("ask-failed", Domain::float(0.0, 1.0)))
        .unwrap()
        .0;
    let mut f = s.reserve(id, Some(1)).unwrap().unwrap();
    f.state = TrialState::Failed;
    f.message = Some("strategy failed: boom".into());
    s.finish(id, &f).unwrap();
    let (back, _) = make().finished_since(id, 0).unwrap();
    assert_eq!(
        (back[0].params.is_empty(), back[0].message.as_deref()),
        (true, Some("strategy failed: boom"))
    );
    assert!(s.reserve(id, Some(1)).unwrap().is_none());
}

/// Equal, counting NaN as equal to NaN.
fn same(a: &Trial, b: &Trial) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn a_trial_comes_back_exactly_as_stored(make: Make<'_>) {
    let space = Space::new(vec![
        Param::new("lr", Domain::float(1e-5, 1e-1).log()),
        Param::new("layers", Domain::int(1, 4)),
        Param::new("act", Domain::choice(["relu", "tanh"])),
        Param::new("bn", Domain::choice([true, false])),
    ])
    .unwrap();
    let store = make();
    let id = store
        .open(&StudyRecord::new(
            "roundtrip",
            space,
            vec![Direction::Maximize],
        ))
        .unwrap()
        .0;
    let params: Params = [
        ("lr".to_owned(), Value::Float(0.001234)),
        ("layers".to_owned(), Value::Int(3)),
        ("act".to_owned(), Value::Str("tanh".into())),
        ("bn".to_owned(), Value::Bool(false)),
    ]
    .into_iter()
    .collect();
    let t = start(&*store, id, &params, None).unwrap();
    store.report(id, t.number, 1, 0.25).unwrap();
    store.report(id, t.number, 2, f64::NAN).unwrap();
    // A report with one value per objective (a study with several), kept as a vector.
    store.report_values(id, t.number, 3, &[0.5, -2.0]).unwrap();
    let live = make().running(id).unwrap();
    assert_eq!(live[0].intermediate[2], (3, 0.5));
    assert_eq!(live[0].intermediate_values, [(3, vec![0.5, -2.0])]);
    assert_eq!(
        live[0].params, params,
        "parameters keep their order and types"
    );
    assert_eq!(live[0].intermediate[0], (1, 0.25));
    assert!(live[0].intermediate[1].1.is_nan());
    assert_eq!(live[0].started_ms, t.started_ms);

    let mut done = live[0].clone();
    done.state = TrialState::Complete;
    done.values = vec![0.987654321012345];
    done.duration_s = Some(1.5);
    done.message = Some("fine".into());
    done.user_attrs.insert("epochs".into(), Value::Int(7));
    done.user_attrs
        .insert("loss".into(), Value::Float(f64::INFINITY));
    store.finish(id, &done).unwrap();
    let (back, _) = make().finished_since(id, 0).unwrap();
    assert!(same(&back[0], &done), "{:?}\n{done:?}", back[0]);

    let mut seen = Vec::new();
    store
        .each_trial(id, &mut |s| {
            seen.push(s);
            true
        })
        .unwrap();
    assert!(same(&seen[0].trial, &done));
    assert_eq!(seen[0].finish_seq, Some(1));
    assert!(
        seen[0]
            .worker
            .as_deref()
            .is_some_and(|w| w.ends_with(&format!(":{}", std::process::id()))),
        "{:?}",
        seen[0].worker
    );
    assert_eq!(seen[0].retry_of, None);
}

fn only_running_trials_take_reports_and_results(make: MakeStorage<'_>) {
    let store = make();
    let id = store
        .open(&record("running", Domain::float(0.0, 1.0)))
        .unwrap()
        .0;
    let t = start(&*store, id, &x(0.1), None).unwrap();
    assert_eq!(store.report(id, 99, 0, 1.0), Err(Error::NotRunning(99)));
    let mut ghost = t.clone();
    ghost.number = 42;
    assert_eq!(store.finish(id, &ghost), Err(Error::NotRunning(42)));
    let mut failed = t.clone();
    failed.state = TrialState::Failed;
    failed.message = Some("boom".into());
    // Two workers race to finish the same trial: exactly one wins.
    let other = make();
    let results = [
        store.finish(id, &failed),
        other.finish(id, &finished(t.clone(), 0.0)),
    ];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert_eq!(
        store.report(id, t.number, 1, 1.0),
        Err(Error::NotRunning(0))
    );
    let (all, cursor) = store.finished_since(id, 0).unwrap();
    assert_eq!((all.len(), cursor), (1, 1), "stored once");
    assert_eq!(all[0].state, TrialState::Failed);
}

fn silent_trials_are_failed_and_retried_with_the_same_parameters(make: Make<'_>) {
    let mut r = record("heartbeat", Domain::float(0.0, 1.0));
    r.grace_s = 0.4;
    r.retries = 1;
    let worker = make();
    let id = worker.open(&r).unwrap().0;
    let beat = worker.heartbeat_interval().unwrap();
    assert!(
        beat <= Duration::from_millis(100),
        "{beat:?}: a quarter of the grace"
    );
    let lost = start(&*worker, id, &x(0.3), Some(3)).unwrap();
    let alive = start(&*worker, id, &x(0.6), Some(3)).unwrap();
    // Lost before the strategy's suggestion was stored.
    let unasked = worker.reserve(id, Some(3)).unwrap().unwrap();
    // Only `alive` beats, for longer than the grace period.
    for _ in 0..10 {
        worker.heartbeat(id, &[alive.number]).unwrap();
        std::thread::sleep(Duration::from_millis(80));
    }
    let reaper = make();
    reaper.open(&r).unwrap();
    let mut reaped = reaper.reap(id).unwrap();
    reaped.sort_by_key(|t| t.number);
    assert_eq!(
        reaped.iter().map(|t| t.number).collect::<Vec<_>>(),
        [lost.number, unasked.number]
    );
    let message = reaped[0].message.clone().unwrap();
    assert!(
        message.starts_with("worker stopped responding (no heartbeat for"),
        "{message}"
    );
    assert_eq!(reaped[0].state, TrialState::Failed);
    assert!(reaper.reap(id).unwrap().is_empty(), "at most once a second");
    assert_eq!(
        worker.finish(id, &finished(lost.clone(), 0.0)),
        Err(Error::NotRunning(lost.number)),
        "a late result of a reaped trial is refused"
    );
    let (gone, _) = worker.finished_since(id, 0).unwrap();
    assert_eq!(gone.len(), 2);
    assert_eq!(gone[0].message.as_deref(), Some(message.as_str()));

    // The retry runs although the study is at its limit: it replaces the lost trial, and does
    // not count toward the limit. The trial lost before it had parameters is not retried.
    let retry = worker.claim_queued(id, Some(3)).unwrap().unwrap();
    assert_eq!(
        (retry.number, retry.params.clone()),
        (3, lost.params.clone())
    );
    assert!(
        worker.claim_queued(id, Some(3)).unwrap().is_none(),
        "one retry queued, not two"
    );
    // Had the retry counted, a study with room for one more would now be full: the budget
    // counts 3 (0, 1 and 2), whenever the retry ran.
    assert!(worker.reserve(id, Some(3)).unwrap().is_none());
    let extra = start(&*worker, id, &x(0.9), Some(4)).unwrap();
    assert_eq!(extra.number, 4);
    worker.finish(id, &finished(extra, 0.0)).unwrap();
    // It is lost too: no second retry, since `retries = 1`.
    worker.finish(id, &finished(alive, 0.0)).unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    let again = reaper.reap(id).unwrap();
    let numbers: HashSet<u64> = again.iter().map(|t| t.number).collect();
    assert!(numbers.contains(&retry.number), "{again:?}");
    assert!(
        worker.claim_queued(id, None).unwrap().is_none(),
        "no retry left"
    );
    let mut chain = Vec::new();
    worker
        .each_trial(id, &mut |s| {
            chain.push((s.trial.number, s.retry_of));
            true
        })
        .unwrap();
    assert!(chain.contains(&(3, Some(lost.number))), "{chain:?}");
    assert_eq!(
        chain.iter().filter(|(_, r)| r.is_some()).count(),
        1,
        "{chain:?}"
    );
}

/// The budget rule, with retries claimed before and after the limit is reached: `limit`
/// trials that are not retries, plus every retry, whatever the timing.
fn retries_come_on_top_of_the_budget_whenever_they_run(make: Make<'_>) {
    for retry_first in [true, false] {
        let mut r = record(&format!("budget-{retry_first}"), Domain::float(0.0, 1.0));
        r.grace_s = 0.2;
        r.retries = 1;
        let worker = make();
        let id = worker.open(&r).unwrap().0;
        let lost = start(&*worker, id, &x(0.5), Some(4)).unwrap();
        let mut numbers = vec![lost.number];
        if !retry_first {
            // The budget is spent before the lost trial is found.
            while let Some(t) = start(&*worker, id, &x(0.1), Some(4)) {
                numbers.push(t.number);
                worker.finish(id, &finished(t, 0.0)).unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(400));
        let reaper = make();
        reaper.open(&r).unwrap();
        assert_eq!(reaper.reap(id).unwrap().len(), 1);
        let retry = worker.claim_queued(id, Some(4)).unwrap().unwrap();
        worker.finish(id, &finished(retry, 0.0)).unwrap();
        while let Some(t) = start(&*worker, id, &x(0.1), Some(4)) {
            worker.finish(id, &finished(t, 0.0)).unwrap();
        }
        assert_eq!(worker.counted(id).unwrap(), 4, "retry first: {retry_first}");
        let s = worker.find(&r.name).unwrap().unwrap();
        assert_eq!(
            (s.total(), s.counts.complete, s.counts.failed),
            (5, 4, 1),
            "retry first: {retry_first}"
        );
    }
}

/// Openers that each propose a seed of their own, as workers started together without one do,
/// all get back the seed stored by the first; a seed chosen replaces it.
fn openers_racing_to_create_a_study_all_get_the_first_seed(make: MakeStorage<'_>) {
    const OPENERS: u64 = 8;
    let at_once = std::sync::Barrier::new(OPENERS as usize);
    let proposal = |seed| StudyRecord {
        seed: Some(seed),
        seed_proposed: true,
        ..record("seeds", Domain::float(0.0, 1.0))
    };
    let got: Vec<(StudyId, Option<u64>)> = std::thread::scope(|scope| {
        let openers: Vec<_> = (0..OPENERS)
            .map(|seed| {
                let (store, r, at_once) = (make(), proposal(seed), &at_once);
                scope.spawn(move || {
                    at_once.wait();
                    let (id, stored) = store.open(&r).unwrap();
                    (id, stored.seed)
                })
            })
            .collect();
        openers.into_iter().map(|o| o.join().unwrap()).collect()
    });
    let (id, first) = got[0];
    assert!(
        first.is_some_and(|s| s < OPENERS) && got.iter().all(|&g| g == (id, first)),
        "one study, one seed: {got:?}"
    );
    let store = make();
    assert_eq!(store.open(&proposal(99)).unwrap().1.seed, first);
    let chosen = StudyRecord {
        seed_proposed: false,
        ..proposal(99)
    };
    assert_eq!(
        store.open(&chosen).unwrap().1.seed,
        Some(99),
        "a chosen seed"
    );
    assert_eq!(make().open(&proposal(7)).unwrap().1.seed, Some(99));
}

fn concurrent_workers_never_share_a_number_or_miss_a_result(make: MakeStorage<'_>) {
    const WORKERS: usize = 8;
    const BUDGET: u64 = 160;
    let r = record("race", Domain::float(0.0, 1.0));
    let id = make().open(&r).unwrap().0;
    let all_done = std::sync::Barrier::new(WORKERS);
    let seen: Vec<(Vec<u64>, Vec<u64>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WORKERS)
            .map(|w| {
                let store = make();
                let r = r.clone();
                let all_done = &all_done;
                scope.spawn(move || {
                    assert_eq!(store.open(&r).unwrap().0, id);
                    let (mut mine, mut read, mut cursor) = (Vec::new(), Vec::new(), 0);
                    while let Some(t) = start(&*store, id, &x(w as f64 / 10.0), Some(BUDGET)) {
                        mine.push(t.number);
                        store.finish(id, &finished(t, w as f64)).unwrap();
                        let (new, next) = store.finished_since(id, cursor).unwrap();
                        assert_eq!(next, cursor + new.len() as u64, "dense finish order");
                        read.extend(new.iter().map(|t| t.number));
                        cursor = next;
                    }
                    // The last read comes after every worker's last result.
                    all_done.wait();
                    let (new, _) = store.finished_since(id, cursor).unwrap();
                    read.extend(new.iter().map(|t| t.number));
                    (mine, read)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut all: Vec<u64> = seen.iter().flat_map(|(m, _)| m.clone()).collect();
    all.sort_unstable();
    assert_eq!(all, (0..BUDGET).collect::<Vec<_>>(), "every number once");
    for (_, read) in &seen {
        let unique: HashSet<u64> = read.iter().copied().collect();
        assert_eq!(
            (read.len(), unique.len()),
            (BUDGET as usize, BUDGET as usize),
            "each worker read every result exactly once"
        );
    }
    let (done, cursor) = make().finished_since(id, 0).unwrap();
    assert_eq!(cursor, BUDGET, "finish positions 1 to {BUDGET}");
    assert!(done.iter().all(|t| t.state == TrialState::Complete));
}

fn studies_are_listed_summarized_and_deleted(make: Make<'_>) {
    let store = make();
    let mut r = record("summary", Domain::float(0.0, 1.0));
    r.directions = vec![Direction::Maximize];
    let id = store.open(&r).unwrap().0;
    for (i, v) in [0.2, 0.9, 0.5].into_iter().enumerate() {
        let t = start(&*store, id, &x(v), None).unwrap();
        assert_eq!(t.number, i as u64);
        store.finish(id, &finished(t, v)).unwrap();
    }
    let t = start(&*store, id, &x(0.1), None).unwrap();
    let mut pruned = t.clone();
    pruned.state = TrialState::Pruned;
    store.finish(id, &pruned).unwrap();
    start(&*store, id, &x(0.1), None).unwrap();
    store.enqueue(id, &x(0.4)).unwrap();
    let s = store.find("summary").unwrap().unwrap();
    assert_eq!(s.id, id);
    assert_eq!(
        (
            s.counts.complete,
            s.counts.pruned,
            s.counts.running,
            s.counts.failed
        ),
        (3, 1, 1, 0)
    );
    assert_eq!((s.total(), s.queued), (5, 1));
    assert_eq!(s.best, Some((1, vec![0.9])), "maximize");
    assert!(s.updated_ms >= s.created_ms && s.created_ms > 0);
    let names: Vec<String> = store
        .studies()
        .unwrap()
        .into_iter()
        .map(|s| s.record.name)
        .collect();
    assert!(names.windows(2).all(|w| w[0] < w[1]), "by name: {names:?}");
    assert!(names.contains(&"summary".to_owned()));
    assert!(store.find("nope").unwrap().is_none());

    let mut first_two = Vec::new();
    store
        .each_trial(id, &mut |s| {
            first_two.push(s.trial.number);
            first_two.len() < 2
        })
        .unwrap();
    assert_eq!(first_two, [0, 1], "stops when asked");
    assert_eq!(store.delete(id).unwrap(), 5);
    assert!(store.find("summary").unwrap().is_none());
    assert!(store.delete(id).is_err(), "already gone");
    // A new study of that name starts afresh.
    let id2 = store.open(&r).unwrap().0;
    assert!(store.claim_queued(id2, None).unwrap().is_none());
    assert_eq!(store.reserve(id2, None).unwrap().unwrap().number, 0);
}

/// Checks a store that an older schema was migrated into: the study and its running trial
/// survived, and the store works.
pub(crate) fn migrated(store: &dyn Store) {
    let s = store.find("old").unwrap().unwrap();
    assert_eq!((s.counts.running, s.total()), (1, 1));
    let running = store.running(s.id).unwrap();
    assert_eq!((running[0].number, running[0].params.clone()), (0, x(0.5)));
    store.open(&s.record).unwrap();
    store
        .finish(s.id, &finished(running[0].clone(), 0.5))
        .unwrap();
    assert_eq!(start(store, s.id, &x(0.1), Some(2)).unwrap().number, 1);
    assert!(
        store.reserve(s.id, Some(2)).unwrap().is_none(),
        "the migrated study counts its old trial toward the limit"
    );
}
