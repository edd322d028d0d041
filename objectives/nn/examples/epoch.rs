//! Times one cross-validated training run of fixed parameters, to measure the cost of an epoch.
//!
//! ```sh
//! cargo run --release -p hyperplug-nn --example epoch -- dataset=digits threads=1 epochs=10 units_1=128 layers=1
//! ```
//!
//! `dataset`, `folds`, `threads` go to the objective; every other `key=value` is a parameter
//! (numbers with a `.` or `e` are floats, other numbers ints, the rest strings).

use std::time::Instant;

use hyperplug_core::{ObjectiveFactory, Params, Settings, TrialContext, Value};
use hyperplug_nn::Mlp;

struct Quiet;

impl TrialContext for Quiet {
    fn number(&self) -> u64 {
        0
    }
    fn report(&mut self, _: u64, _: f64) {}
    fn should_prune(&mut self) -> bool {
        false
    }
}

/// Keeps candle's matrix products on one thread, as the `hyperplug` host does: candle otherwise
/// splits each over every core even inside a trial's pool. Called first thing in `main`, while
/// no other thread exists to read the environment.
fn limit_candle_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        // SAFETY: no other thread exists yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    limit_candle_threads();
    let mut settings = Settings::default()
        .with("dataset", "digits")
        .with("space", "study");
    let mut params = Params::new();
    for arg in std::env::args().skip(1) {
        let (key, value) = arg
            .split_once('=')
            .ok_or_else(|| format!("argument `{arg}` is not key=value"))?;
        match key {
            "dataset" => settings = settings.with(key, value),
            "folds" | "threads" => settings = settings.with(key, value.parse::<u64>()?),
            _ => {
                let v = if let Ok(i) = value.parse::<i64>() {
                    Value::Int(i)
                } else if let Ok(x) = value.parse::<f64>() {
                    Value::Float(x)
                } else {
                    Value::Str(value.to_owned())
                };
                params.insert(key.to_owned(), v);
            }
        }
    }
    let objective = Mlp.create(&settings)?;
    let started = Instant::now();
    let eval = objective
        .evaluate(&params, &mut Quiet)
        .map_err(|e| format!("the trial failed: {e}"))?;
    let epochs = eval.attrs["epochs"].as_f64().unwrap_or(1.0);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "values {:?}  params {}  {:.3} s in all, {:.1} ms per epoch (all folds)",
        eval.values,
        eval.attrs["params"],
        seconds,
        1000.0 * seconds / epochs
    );
    Ok(())
}
