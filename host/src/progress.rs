//! Progress for people: a bar on a terminal, log lines elsewhere.

use std::io::IsTerminal;
use std::time::Duration;

use hyperplug_core::{Budget, Error, Observer, Study, Trial, TrialState};
use indicatif::{ProgressBar, ProgressStyle};

use crate::format::{params_text, values_text};

/// Shows a study's progress: a bar with trials done, best so far and elapsed time when stderr is
/// a terminal; one log line per trial otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// Progress for a run with `budget`; a bar only if stderr is a terminal.
    pub fn new(budget: &Budget) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress { bar: None };
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
        Progress { bar: Some(bar) }
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
}

fn state_word(state: TrialState) -> &'static str {
    match state {
        TrialState::Running => "running",
        TrialState::Complete => "complete",
        TrialState::Pruned => "pruned",
        TrialState::Failed => "failed",
    }
}
