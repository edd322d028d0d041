//! The loop that runs a study's trials: one at a time on the caller's thread, or several at once
//! on worker threads. It is the only place trials are evaluated, so budgets, failures, devices,
//! stopping and interrupting behave the same however many run at once.
//!
//! Workers share the study and the observer behind one mutex, held only to ask, tell, report and
//! decide on pruning; objectives run unlocked. The heartbeat never takes that mutex: a worker
//! waiting on a stalled store must not keep the other trials from beating.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::objective::{Objective, TrialContext};
use crate::study::{Asked, Budget, Observer, Pulse, RunOptions, Study, panic_message};
use crate::trial::{Trial, TrialError, TrialOutcome};

/// What the workers share.
struct Shared<'a> {
    study: &'a mut Study,
    observer: &'a mut (dyn Observer + Send),
    /// Device ids not lent to a running trial.
    free_devices: Vec<u32>,
    /// The strategy said it has nothing more to suggest.
    exhausted: bool,
    /// The store failed: the run ends and reports it.
    error: Option<Error>,
}

struct Run<'a> {
    shared: Mutex<Shared<'a>>,
    objective: &'a dyn Objective,
    budget: Budget,
    devices_per_trial: usize,
    start: Instant,
}

/// Runs `study` to `budget` with up to `study.config().parallelism` trials at once.
pub(crate) fn run(
    study: &mut Study,
    objective: &dyn Objective,
    budget: Budget,
    options: &RunOptions,
    observer: &mut (dyn Observer + Send),
) -> Result<(), Error> {
    if budget.trials.is_none() && budget.timeout.is_none() {
        return Err(Error::UnboundedBudget);
    }
    let mut workers = study.config().parallelism.max(1);
    // `None` when trials need no device.
    if let Some(fit) = options.devices.len().checked_div(options.devices_per_trial) {
        if fit == 0 {
            return Err(Error::Other(format!(
                "each trial needs {} device(s) but only {} are available ({:?}); lower `gpus` or make more devices available",
                options.devices_per_trial,
                options.devices.len(),
                options.devices
            )));
        }
        workers = workers.min(fit);
    }
    let run = Run {
        shared: Mutex::new(Shared {
            study,
            observer,
            free_devices: options.devices.clone(),
            exhausted: false,
            error: None,
        }),
        objective,
        budget,
        devices_per_trial: options.devices_per_trial,
        start: Instant::now(),
    };
    let pulse = run.lock().study.pulse();
    // The heartbeat runs while any worker does.
    let active = AtomicUsize::new(workers);
    let work = || {
        run.worker();
        active.fetch_sub(1, Ordering::SeqCst);
    };
    std::thread::scope(|scope| {
        if let Some(every) = pulse.every() {
            let (run, active, pulse) = (&run, &active, &pulse);
            scope.spawn(move || run.beat(pulse, every, active));
        }
        for _ in 1..workers {
            scope.spawn(work);
        }
        work();
    });
    match run.shared.into_inner() {
        Ok(Shared { error: Some(e), .. }) => Err(e),
        _ => Ok(()),
    }
}

impl<'a> Run<'a> {
    fn lock(&self) -> MutexGuard<'_, Shared<'a>> {
        // A panic while the lock is held can only come from an observer or strategy; the
        // study's own state stays consistent, so carry on with it.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps this process's running trials alive in the store while workers run. A heartbeat
    /// the store refuses ends the run like any store failure.
    fn beat(&self, pulse: &Pulse, every: Duration, active: &AtomicUsize) {
        let mut last = Instant::now();
        while active.load(Ordering::SeqCst) > 0 {
            std::thread::sleep(Duration::from_millis(50).min(every));
            if last.elapsed() >= every {
                last = Instant::now();
                // Beat first, lock after: the guard must not be held across the store call.
                let beat = pulse.beat();
                if let Err(e) = beat {
                    self.lock().store_failed(e);
                }
            }
        }
    }

    fn worker(&self) {
        while let Some((trial, devices)) = self.next() {
            let outcome = self.evaluate(&trial, &devices);
            self.finish(trial.number, outcome, devices);
        }
    }

    /// The next trial to run with its devices, or `None` when the run is over.
    fn next(&self) -> Option<(Trial, Vec<u32>)> {
        let mut s = self.lock();
        loop {
            if s.exhausted
                || s.error.is_some()
                || self
                    .budget
                    .timeout
                    .is_some_and(|t| self.start.elapsed() >= t)
                || s.observer.stop_requested()
            {
                return None;
            }
            match s.study.next_trial(self.budget.trials) {
                Ok(Some(Asked::Run(trial))) => {
                    let at = s.free_devices.len().saturating_sub(self.devices_per_trial);
                    let devices = s.free_devices.split_off(at);
                    s.observer.trial_started(&trial);
                    return Some((trial, devices));
                }
                Ok(Some(Asked::Failed(failed, _))) => {
                    let Shared {
                        study, observer, ..
                    } = &mut *s;
                    observer.trial_started(&failed);
                    observer.trial_finished(study, &failed);
                }
                Ok(None) => return None,
                Err(Error::Exhausted(_)) => {
                    s.exhausted = true;
                    return None;
                }
                Err(e) => {
                    s.store_failed(e);
                    return None;
                }
            }
        }
    }

    fn evaluate(&self, trial: &Trial, devices: &[u32]) -> TrialOutcome {
        let mut ctx = Context {
            run: self,
            number: trial.number,
            devices,
            interrupted: false,
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            self.objective.evaluate(&trial.params, &mut ctx)
        }))
        .unwrap_or_else(|payload| {
            Err(TrialError::Failed(format!(
                "the objective panicked: {}",
                panic_message(payload.as_ref())
            )))
        });
        if ctx.interrupted || self.lock().observer.interrupt_requested() {
            return Err(TrialError::Failed("interrupted".into()));
        }
        outcome
    }

    fn finish(&self, number: u64, outcome: TrialOutcome, devices: Vec<u32>) {
        let mut s = self.lock();
        s.free_devices.extend(devices);
        let Shared {
            study, observer, ..
        } = &mut *s;
        match study.tell(number, outcome) {
            Ok(_) => {}
            // The store failed: the result may be lost, and so may the next ones.
            Err(e @ Error::Storage(_)) => {
                s.store_failed(e);
                return;
            }
            // The result is stored before the strategy hears of it; an error here is the
            // strategy's (or a trial the store already failed) and the study goes on.
            Err(e) => observer.strategy_error(&e),
        }
        if let Some(trial) = study.finished().iter().rev().find(|t| t.number == number) {
            observer.trial_finished(study, trial);
        }
    }
}

impl Shared<'_> {
    /// Reports a store failure once and ends the run: no new trial starts.
    fn store_failed(&mut self, e: Error) {
        if self.error.is_none() {
            self.observer.store_error(&e);
            self.error = Some(e);
        }
    }
}

/// A running trial's link to the study.
struct Context<'r, 'a> {
    run: &'r Run<'a>,
    number: u64,
    devices: &'r [u32],
    interrupted: bool,
}

impl TrialContext for Context<'_, '_> {
    fn number(&self) -> u64 {
        self.number
    }

    fn report(&mut self, step: u64, value: f64) {
        // The trial is running by construction, so this cannot fail.
        let _ = self.run.lock().study.report(self.number, step, value);
    }

    fn report_values(&mut self, step: u64, values: &[f64]) {
        let mut s = self.run.lock();
        let Shared {
            study, observer, ..
        } = &mut *s;
        // The trial is running; only a wrong count of values (or a store that cannot keep
        // them) fails, and the observer hears of it as it hears of a pruner's error.
        if let Err(e) = study.report_values(self.number, step, values) {
            observer.strategy_error(&e);
        }
    }

    fn should_prune(&mut self) -> bool {
        let mut s = self.run.lock();
        if s.observer.interrupt_requested() {
            self.interrupted = true;
            return true;
        }
        let Shared {
            study, observer, ..
        } = &mut *s;
        match study.should_prune(self.number) {
            Ok(prune) => prune,
            Err(e) => {
                observer.strategy_error(&e);
                false
            }
        }
    }

    fn devices(&self) -> Vec<u32> {
        self.devices.to_vec()
    }

    fn study_name(&self) -> String {
        self.run.lock().study.config().name.clone()
    }

    fn resource(&self) -> Option<u64> {
        self.run.lock().study.resource(self.number)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::capability::Capabilities;
    use crate::objective::FnObjective;
    use crate::settings::Settings;
    use crate::space::{Domain, Param, Space};
    use crate::storage::{MemoryStorage, Storage};
    use crate::strategy::{AskContext, PluginInfo, Strategy, StrategyFactory, StudySetup};
    use crate::study::{Direction, StudyConfig};
    use crate::trial::TrialState;
    use crate::value::{Params, Value};

    /// x = number / 100: distinct points, whatever runs at once.
    struct Counter;

    impl StrategyFactory for Counter {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("counter", "0", "", Capabilities::all())
        }
        fn create(&self, _: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
            Ok(Box::new(Counter))
        }
    }

    impl Strategy for Counter {
        fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
            Ok([("x".to_owned(), Value::Float(ctx.number as f64 / 100.0))]
                .into_iter()
                .collect())
        }
    }

    fn study(parallelism: usize) -> Study {
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let mut config = StudyConfig::new("p", space, vec![Direction::Minimize]);
        config.parallelism = parallelism;
        Study::new(config, &Counter, &Settings::default()).unwrap()
    }

    /// Counts trials running at once and remembers the most seen.
    #[derive(Default)]
    struct Gauge {
        now: AtomicUsize,
        max: AtomicUsize,
    }

    impl Gauge {
        fn enter(&self) {
            let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
            self.max.fetch_max(n, Ordering::SeqCst);
        }
        fn leave(&self) {
            self.now.fetch_sub(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn parallel_trials_run_at_once_and_every_number_is_used_once() {
        let gauge = Gauge::default();
        let mut s = study(4);
        let objective = FnObjective(|p: &Params, _: &mut dyn TrialContext| {
            gauge.enter();
            std::thread::sleep(Duration::from_millis(30));
            gauge.leave();
            Ok(p["x"].as_f64().unwrap_or(1.0))
        });
        s.optimize(&objective, Budget::trials(20), &mut ()).unwrap();
        assert_eq!(gauge.max.load(Ordering::SeqCst), 4);
        let numbers: HashSet<u64> = s.finished().iter().map(|t| t.number).collect();
        assert_eq!(numbers, (0..20).collect());
        assert!(s.finished().iter().all(|t| t.state == TrialState::Complete));
        assert_eq!(s.best_trial().unwrap().number, 0);
    }

    #[test]
    fn devices_are_lent_without_oversubscription() {
        let gauge = Gauge::default();
        let in_use = Mutex::new(HashSet::new());
        let mut s = study(8);
        let objective = FnObjective(|_: &Params, ctx: &mut dyn TrialContext| {
            let devices = ctx.devices();
            assert_eq!(devices.len(), 1);
            assert!(
                in_use.lock().unwrap().insert(devices[0]),
                "device {devices:?} lent twice"
            );
            gauge.enter();
            std::thread::sleep(Duration::from_millis(20));
            gauge.leave();
            in_use.lock().unwrap().remove(&devices[0]);
            Ok(0.0)
        });
        let options = RunOptions {
            devices: vec![0, 1, 2],
            devices_per_trial: 1,
        };
        s.optimize_with(&objective, Budget::trials(12), &options, &mut ())
            .unwrap();
        assert_eq!(s.finished().len(), 12);
        assert!(
            s.finished().iter().all(|t| t.state == TrialState::Complete),
            "{:?}",
            s.finished()
        );
        assert_eq!(
            gauge.max.load(Ordering::SeqCst),
            3,
            "three devices, one each"
        );

        let too_many = RunOptions {
            devices: vec![0],
            devices_per_trial: 2,
        };
        let err = s
            .optimize_with(&objective, Budget::trials(20), &too_many, &mut ())
            .unwrap_err();
        assert!(
            err.to_string().contains("needs 2 device(s) but only 1"),
            "{err}"
        );
    }

    /// Stops after `stop_after` finished trials; interrupts once `interrupt` is set.
    struct Stopper {
        stop_after: usize,
        finished: usize,
        interrupt: bool,
    }

    impl Observer for Stopper {
        fn trial_finished(&mut self, _: &Study, _: &Trial) {
            self.finished += 1;
        }
        fn stop_requested(&mut self) -> bool {
            self.finished >= self.stop_after
        }
        fn interrupt_requested(&mut self) -> bool {
            self.interrupt
        }
    }

    #[test]
    fn a_stop_lets_running_trials_finish_and_starts_no_more() {
        let mut s = study(3);
        let objective = FnObjective(|_: &Params, _: &mut dyn TrialContext| {
            std::thread::sleep(Duration::from_millis(20));
            Ok(0.5)
        });
        let mut stopper = Stopper {
            stop_after: 4,
            finished: 0,
            interrupt: false,
        };
        s.optimize(&objective, Budget::trials(100), &mut stopper)
            .unwrap();
        let n = s.finished().len();
        assert!(
            (4..=6).contains(&n),
            "{n} trials: the 4th stops new ones, at most 2 others run on"
        );
        assert!(s.running().is_empty());
        assert!(s.finished().iter().all(|t| t.state == TrialState::Complete));
    }

    #[test]
    fn an_interrupt_fails_running_trials_that_poll() {
        let mut s = study(2);
        let objective = FnObjective(|_: &Params, ctx: &mut dyn TrialContext| {
            for step in 0..1000 {
                ctx.report(step, 1.0);
                if ctx.should_prune() {
                    return Err(TrialError::Pruned);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(0.0)
        });
        let mut stopper = Stopper {
            stop_after: usize::MAX,
            finished: 0,
            interrupt: true,
        };
        s.optimize(&objective, Budget::trials(2), &mut stopper)
            .unwrap();
        assert_eq!(s.finished().len(), 2);
        for t in s.finished() {
            assert_eq!(t.state, TrialState::Failed);
            assert_eq!(t.message.as_deref(), Some("interrupted"));
            assert_eq!(t.intermediate.len(), 1, "stopped at its first check");
        }
    }

    /// Two studies sharing one store, as two worker processes share a database, each with
    /// parallel trials: every trial's parameters are the ones the strategy chose for that
    /// trial's number, so no two trials get the same point.
    #[test]
    fn the_number_a_strategy_is_asked_with_is_the_number_stored() {
        let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
        let mut config = StudyConfig::new("shared", space, vec![Direction::Minimize]);
        config.parallelism = 3;
        let objective = FnObjective(|_: &Params, _: &mut dyn TrialContext| {
            std::thread::sleep(Duration::from_millis(2));
            Ok(0.0)
        });
        std::thread::scope(|scope| {
            for _ in 0..2 {
                let (store, config, objective) = (store.clone(), config.clone(), &objective);
                scope.spawn(move || {
                    let mut s = Study::open(config, &Counter, &Settings::default(), store).unwrap();
                    s.optimize(objective, Budget::trials(60), &mut ()).unwrap();
                });
            }
        });
        let s = Study::open(config, &Counter, &Settings::default(), store).unwrap();
        assert_eq!(s.finished().len(), 60);
        for t in s.finished() {
            assert_eq!(
                t.params["x"].as_f64(),
                Some(t.number as f64 / 100.0),
                "trial {} ran another number's point",
                t.number
            );
        }
    }

    /// Which store call fails.
    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Fault {
        Heartbeat,
        Reserve,
        Finish,
    }

    /// A memory store whose `fault` call fails from its `after`-th call on, as a database that
    /// goes away mid-run.
    struct Failing {
        inner: MemoryStorage,
        fault: Fault,
        after: usize,
        calls: AtomicUsize,
    }

    impl Failing {
        fn check(&self, op: Fault) -> Result<(), Error> {
            if op == self.fault && self.calls.fetch_add(1, Ordering::SeqCst) >= self.after {
                return Err(Error::Storage(format!(
                    "the database went away (at {op:?})"
                )));
            }
            Ok(())
        }
    }

    impl Storage for Failing {
        fn open(
            &self,
            record: &crate::StudyRecord,
        ) -> Result<(crate::StudyId, crate::StudyRecord), Error> {
            self.inner.open(record)
        }
        fn claim_queued(&self, s: crate::StudyId, l: Option<u64>) -> Result<Option<Trial>, Error> {
            self.inner.claim_queued(s, l)
        }
        fn reserve(&self, s: crate::StudyId, l: Option<u64>) -> Result<Option<Trial>, Error> {
            self.check(Fault::Reserve)?;
            self.inner.reserve(s, l)
        }
        fn set_params(&self, s: crate::StudyId, n: u64, p: &Params) -> Result<(), Error> {
            self.inner.set_params(s, n, p)
        }
        fn release(&self, s: crate::StudyId, n: u64) -> Result<(), Error> {
            self.inner.release(s, n)
        }
        fn counted(&self, s: crate::StudyId) -> Result<u64, Error> {
            self.inner.counted(s)
        }
        fn report(&self, s: crate::StudyId, n: u64, step: u64, v: f64) -> Result<(), Error> {
            self.inner.report(s, n, step, v)
        }
        fn finish(&self, s: crate::StudyId, t: &Trial) -> Result<(), Error> {
            self.check(Fault::Finish)?;
            self.inner.finish(s, t)
        }
        fn finished_since(&self, s: crate::StudyId, c: u64) -> Result<(Vec<Trial>, u64), Error> {
            self.inner.finished_since(s, c)
        }
        fn running(&self, s: crate::StudyId) -> Result<Vec<Trial>, Error> {
            self.inner.running(s)
        }
        fn enqueue(&self, s: crate::StudyId, p: &Params) -> Result<(), Error> {
            self.inner.enqueue(s, p)
        }
        fn heartbeat(&self, s: crate::StudyId, n: &[u64]) -> Result<(), Error> {
            self.check(Fault::Heartbeat)?;
            self.inner.heartbeat(s, n)
        }
        fn heartbeat_interval(&self) -> Option<Duration> {
            Some(Duration::from_millis(10))
        }
    }

    /// Counts what the run reported.
    #[derive(Default)]
    struct Reports {
        store: Vec<String>,
        strategy: Vec<String>,
        finished: usize,
    }

    impl Observer for Reports {
        fn trial_finished(&mut self, _: &Study, _: &Trial) {
            self.finished += 1;
        }
        fn strategy_error(&mut self, e: &Error) {
            self.strategy.push(e.to_string());
        }
        fn store_error(&mut self, e: &Error) {
            self.store.push(e.to_string());
        }
    }

    #[test]
    fn a_store_failing_mid_run_ends_the_run_with_a_store_error() {
        for fault in [Fault::Heartbeat, Fault::Reserve, Fault::Finish] {
            let store = Arc::new(Failing {
                inner: MemoryStorage::new(),
                fault,
                after: 5,
                calls: AtomicUsize::new(0),
            });
            let (done, ended) = std::sync::mpsc::channel();
            std::thread::spawn(move || {
                let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).unwrap();
                let mut config = StudyConfig::new("down", space, vec![Direction::Minimize]);
                config.parallelism = 4;
                let mut s = Study::open(config, &Counter, &Settings::default(), store).unwrap();
                let objective = FnObjective(|_: &Params, _: &mut dyn TrialContext| {
                    std::thread::sleep(Duration::from_millis(15));
                    Ok(0.0)
                });
                let mut reports = Reports::default();
                let result = s.optimize(&objective, Budget::trials(10_000), &mut reports);
                let _ = done.send((result, reports));
            });
            // A hang (a lock held across the store call) fails here instead of stalling CI.
            let (result, reports) = ended
                .recv_timeout(Duration::from_secs(60))
                .unwrap_or_else(|_| panic!("the run hung after the store failed at {fault:?}"));
            let err = result.expect_err("the run ends with the store's error");
            assert!(matches!(err, Error::Storage(_)), "{fault:?}: {err:?}");
            assert!(err.to_string().contains("the database went away"), "{err}");
            assert_eq!(reports.store.len(), 1, "{fault:?}: reported once");
            assert!(
                reports.strategy.is_empty(),
                "{fault:?}: not a strategy error: {:?}",
                reports.strategy
            );
            assert!(reports.finished < 10_000, "{fault:?}: stopped early");
        }
    }
}
