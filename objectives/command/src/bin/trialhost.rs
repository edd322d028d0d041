//! `hyperplug-trialhost`: runs one trial of the command objective, as a worker would, for the
//! tests that kill the process running a trial. Its one argument is the objective's settings as
//! JSON; it exits with the trial's outcome. It is a test fixture, not part of the objective.

use std::process::ExitCode;

use hyperplug_command::Command;
use hyperplug_core::{ObjectiveFactory, Params, Settings, TrialContext, Value};

struct Worker;

impl TrialContext for Worker {
    fn number(&self) -> u64 {
        0
    }
    fn report(&mut self, _step: u64, _value: f64) {}
    fn should_prune(&mut self) -> bool {
        false
    }
}

fn main() -> ExitCode {
    let Some(settings) = std::env::args().nth(1) else {
        eprintln!("usage: hyperplug-trialhost SETTINGS_JSON");
        return ExitCode::from(2);
    };
    let settings = match serde_json::from_str(&settings) {
        Ok(serde_json::Value::Object(map)) => Settings::new(map),
        _ => {
            eprintln!("hyperplug-trialhost: the settings are not a JSON object");
            return ExitCode::from(2);
        }
    };
    let objective = match Command.create(&settings) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hyperplug-trialhost: {e}");
            return ExitCode::from(2);
        }
    };
    let params: Params = [("x".to_owned(), Value::Float(0.5))].into_iter().collect();
    // The trial runs on a thread of its own, as in the executor.
    let trial = std::thread::spawn(move || objective.evaluate(&params, &mut Worker));
    match trial.join() {
        Ok(Ok(_)) => ExitCode::SUCCESS,
        _ => ExitCode::FAILURE,
    }
}
