//! Progress for people: a bar on a terminal, log lines elsewhere, and a logger that keeps the
//! two from drawing over each other.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use hyperplug_core::{Budget, Error, Observer, Study, Trial, TrialState};
use indicatif::{ProgressBar, ProgressStyle};

use crate::format::{params_text, values_text};

/// Shows a study's progress: a bar with trials done, best so far and elapsed time when stderr is
/// a terminal; one log line per trial otherwise. It also carries the user's Ctrl-C presses to
/// the study: one stops new trials, two interrupt the running ones.
pub struct Progress {
    bar: Option<ProgressBar>,
    interrupts: Arc<AtomicUsize>,
    announced: usize,
}

impl Progress {
    /// Progress for a run with `budget`; a bar only if stderr is a terminal. `interrupts`
    /// counts the Ctrl-C presses so far.
    pub fn new(budget: &Budget, interrupts: Arc<AtomicUsize>) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress {
                bar: None,
                interrupts,
                announced: 0,
            };
        }
        let bar = match budget.trials {
            Some(n) => ProgressBar::new(n),
            None => ProgressBar::new_spinner(),
        };
        let template = if budget.trials.is_some() {
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} trials  {msg}"
        } else {
            "{spinner} [{elapsed_precise}] {pos} trials  {msg}"
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        *BAR.write().unwrap_or_else(PoisonError::into_inner) = Some(bar.clone());
        Progress {
            bar: Some(bar),
            interrupts,
            announced: 0,
        }
    }

    /// Ctrl-C presses so far, telling the user once what each one does.
    fn presses(&mut self) -> usize {
        let n = self.interrupts.load(Ordering::SeqCst);
        if n > self.announced {
            self.announced = n;
            let line = match n {
                1 => {
                    "stopping: no new trials; running ones finish (Ctrl-C again to interrupt them)"
                }
                2 => "interrupting running trials (Ctrl-C again to exit at once)",
                _ => "exiting",
            };
            self.say(line.to_owned());
            if let Some(bar) = &self.bar {
                bar.set_message(line);
            }
        }
        n
    }

    /// Ends the bar, leaving it on screen.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
            BAR.write().unwrap_or_else(PoisonError::into_inner).take();
        }
    }

    fn say(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => log::warn!("{line}"),
        }
    }
}

impl Observer for Progress {
    fn trial_finished(&mut self, study: &Study, trial: &Trial) {
        let best = study
            .best_trials()
            .first()
            .map(|b| format!("best {} (trial {})", values_text(&b.values), b.number));
        match trial.state {
            TrialState::Failed => self.say(format!(
                "trial {} failed: {}",
                trial.number,
                trial.message.as_deref().unwrap_or("no message")
            )),
            TrialState::Pruned if self.bar.is_none() => log::info!(
                "trial {} pruned at {} with {}; {}",
                trial.number,
                trial
                    .last_intermediate()
                    .map_or("its start".into(), |(s, v)| format!("step {s} ({v})")),
                params_text(&trial.params),
                best.as_deref().unwrap_or("no complete trial yet")
            ),
            _ if self.bar.is_none() => log::info!(
                "trial {} {}: {} with {}; {}",
                trial.number,
                state_word(trial.state),
                values_text(&trial.values),
                params_text(&trial.params),
                best.as_deref().unwrap_or("no complete trial yet")
            ),
            _ => {}
        }
        if let Some(bar) = &self.bar {
            bar.inc(1);
            if let Some(best) = best {
                bar.set_message(best);
            }
        }
    }

    fn strategy_error(&mut self, error: &Error) {
        self.say(strategy_error_line(error));
    }

    fn store_error(&mut self, error: &Error) {
        self.say(format!(
            "store error (no new trial starts; the run ends once the running ones finish): {error}"
        ));
    }

    fn stop_requested(&mut self) -> bool {
        self.presses() >= 1
    }

    fn interrupt_requested(&mut self) -> bool {
        self.presses() >= 2
    }
}

/// The bar on screen now, if any: log lines are written around it.
static BAR: RwLock<Option<ProgressBar>> = RwLock::new(None);

/// A logger that writes each record with the progress bar taken off the screen and redrawn
/// after, so that warnings (the host's, and plugins' through the host) and the bar never share a
/// line. Without a bar it is `inner` alone.
pub struct BarAwareLogger<L> {
    inner: L,
}

impl<L: log::Log> BarAwareLogger<L> {
    /// Wraps `inner`.
    pub fn new(inner: L) -> Self {
        BarAwareLogger { inner }
    }
}

impl<L: log::Log> log::Log for BarAwareLogger<L> {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.inner.enabled(record.metadata()) {
            return;
        }
        // Clone out of the lock: the bar's own drawing must not wait on a logger's lock.
        let bar = BAR.read().unwrap_or_else(PoisonError::into_inner).clone();
        match bar {
            Some(bar) => bar.suspend(|| self.inner.log(record)),
            None => self.inner.log(record),
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}

fn state_word(state: TrialState) -> &'static str {
    match state {
        TrialState::Running => "running",
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Failed => "failed",
    }
}

/// What the run says of an error outside a trial. A result refused by the store is no fault of
/// the strategy: it came after the study had given up on its trial.
fn strategy_error_line(error: &Error) -> String {
    match error {
        Error::NotRunning(n) => format!(
            "the result of trial {n} came too late and is not kept: the study had already failed it (no heartbeat from this worker within `heartbeat_grace`, e.g. a stopped or overloaded process) or it finished elsewhere"
        ),
        _ => format!("strategy error (the study goes on): {error}"),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use log::Log;

    use super::*;

    /// Keeps the messages of records at `Info` or more severe.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<String>>);

    impl Log for Recorder {
        fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
            metadata.level() <= log::Level::Info
        }
        fn log(&self, record: &log::Record<'_>) {
            self.0.lock().unwrap().push(record.args().to_string());
        }
        fn flush(&self) {}
    }

    fn record(logger: &impl Log, level: log::Level, message: &str) {
        logger.log(
            &log::Record::builder()
                .level(level)
                .args(format_args!("{message}"))
                .build(),
        );
    }

    #[test]
    fn a_late_result_is_not_called_a_strategy_error() {
        let late = strategy_error_line(&Error::NotRunning(10));
        assert!(late.contains("trial 10 came too late"), "{late}");
        assert!(!late.contains("strategy"), "{late}");
        let other = strategy_error_line(&Error::Strategy("boom".into()));
        assert!(other.starts_with("strategy error"), "{other}");
    }

    #[test]
    fn records_pass_through_with_and_without_a_bar_filtered_by_the_inner_logger() {
        let logger = BarAwareLogger::new(Recorder::default());
        record(&logger, log::Level::Warn, "before the bar");
        let bar = ProgressBar::hidden();
        *BAR.write().unwrap() = Some(bar.clone());
        record(&logger, log::Level::Warn, "with the bar");
        record(&logger, log::Level::Debug, "too verbose");
        bar.finish();
        BAR.write().unwrap().take();
        record(&logger, log::Level::Info, "after the bar");
        assert_eq!(
            *logger.inner.0.lock().unwrap(),
            ["before the bar", "with the bar", "after the bar"]
        );
    }
}
