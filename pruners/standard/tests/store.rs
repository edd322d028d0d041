//! Pruning state lives in the store: a study resumed by a new process (a new `Study` and a new
//! pruner on the same SQLite file) continues the same rungs and brackets, and a worker that joins
//! a stored study prunes from the trials already there.

use std::sync::Arc;

use hyperplug_core::{
    Budget, Direction, Domain, Param, PrunerFactory, Settings, Space, Storage, Study, StudyConfig,
    TrialError, TrialState,
};
use hyperplug_pruners::{Asha, Hyperband, Median, SuccessiveHalving};
// x = the golden-ratio sequence of the trial number: the same trials in any run.
use hyperplug_testkit::Sweep;

const STEPS: u64 = 27;

fn study(store: Arc<dyn Storage>, pruner: &dyn PrunerFactory, settings: &Settings) -> Study {
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))])
        .unwrap_or_else(|e| panic!("{e}"));
    let config = StudyConfig::new("resume", space, vec![Direction::Minimize]);
    let mut s =
        Study::open(config, &Sweep, &Settings::default(), store).unwrap_or_else(|e| panic!("{e}"));
    s.set_pruner(pruner, settings)
        .unwrap_or_else(|e| panic!("{e}"));
    s
}

fn run(s: &mut Study, until: u64) {
    s.optimize_fn(Budget::trials(until), |p, ctx| {
        let x = p["x"].as_f64().unwrap_or(0.0);
        for step in 1..=ctx.resource().unwrap_or(STEPS) {
            ctx.report(step, (x - 0.3).powi(2) + 1.0 / step as f64);
            if ctx.should_prune() {
                return Err(TrialError::Pruned);
            }
        }
        Ok((x - 0.3).powi(2))
    })
    .unwrap_or_else(|e| panic!("{e}"));
}

fn summary(s: &Study) -> Vec<(u64, TrialState, usize)> {
    s.finished()
        .iter()
        .map(|t| (t.number, t.state, t.intermediate.len()))
        .collect()
}

#[test]
fn a_resumed_study_continues_its_rungs_and_brackets() {
    let hyperband = Settings::default().with("max_resource", STEPS);
    let cases: [(&dyn PrunerFactory, Settings); 4] = [
        (&Hyperband, hyperband.clone()),
        (&Hyperband, hyperband.with("synchronous", true)),
        (
            &SuccessiveHalving,
            Settings::default().with("max_resource", STEPS),
        ),
        (&Asha, Settings::default()),
    ];
    for (pruner, settings) in cases {
        let name = pruner.info().name;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let url = |f: &str| format!("sqlite://{}", dir.path().join(f).display());
        // Uninterrupted: 60 trials in one go.
        let whole = hyperplug_storage::open(&url("whole.db")).unwrap_or_else(|e| panic!("{e}"));
        let mut one = study(whole, pruner, &settings);
        run(&mut one, 60);
        // Interrupted after 25 trials; a new process opens the file and runs to 60.
        let first = hyperplug_storage::open(&url("split.db")).unwrap_or_else(|e| panic!("{e}"));
        run(&mut study(first, pruner, &settings), 25);
        let again = hyperplug_storage::open(&url("split.db")).unwrap_or_else(|e| panic!("{e}"));
        let mut resumed = study(again, pruner, &settings);
        run(&mut resumed, 60);
        assert_eq!(
            summary(&resumed),
            summary(&one),
            "{name} {}",
            settings.to_json()
        );
        let pruned = summary(&one)
            .iter()
            .filter(|t| t.1 == TrialState::Pruned)
            .count();
        assert!(pruned >= 15, "{name}: {pruned} of 60 pruned");
    }
}

#[test]
fn a_worker_joining_a_stored_study_prunes_from_the_trials_already_there() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let settings = Settings::default().with("n_startup_trials", 2);
    // Worker A runs ten trials alone; worker B then joins with a fresh pruner, and its first
    // trial is judged against A's: a poor one stops at its first step.
    let a = hyperplug_storage::open(&url).unwrap_or_else(|e| panic!("{e}"));
    run(&mut study(a, &Median, &settings), 10);
    let b = hyperplug_storage::open(&url).unwrap_or_else(|e| panic!("{e}"));
    let mut joined = study(b, &Median, &settings);
    joined
        .optimize_fn(Budget::trials(11), |_, ctx| {
            for step in 1..=STEPS {
                ctx.report(step, 5.0);
                if ctx.should_prune() {
                    return Err(TrialError::Pruned);
                }
            }
            Ok(5.0)
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let last = joined
        .finished()
        .last()
        .unwrap_or_else(|| panic!("no trial"));
    assert_eq!((last.number, last.state), (10, TrialState::Pruned));
    assert_eq!(last.intermediate, vec![(1, 5.0)]);
}
