//! Progress for people: a bar on a terminal, log lines elsewhere.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
        self.say(format!("strategy error (the study goes on): {error}"));
    }

    fn stop_requested(&mut self) -> bool {
        self.presses() >= 1
    }

    fn interrupt_requested(&mut self) -> bool {
        self.presses() >= 2
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
