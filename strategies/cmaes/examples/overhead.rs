//! The strategy's own time per trial (ask + tell, as `hyperplug bench overhead` counts it) on
//! the overhead benchmark's problem: the sum of squares over `[-5, 5]^10`, one seeded run.
//!
//! ```sh
//! cargo run --release -p hyperplug-cmaes --example overhead -- 1000 10000
//! ```

use std::time::Instant;

use hyperplug_cmaes::CmaEs;
use hyperplug_core::{
    AskContext, Direction, Domain, Param, Settings, Space, StrategyFactory, StudySetup, Trial,
    TrialState,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let checkpoints: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let last = checkpoints.iter().copied().max().unwrap_or(1000);
    let space = Space::new(
        (0..10)
            .map(|i| Param::new(format!("x{i}"), Domain::float(-5.0, 5.0)))
            .collect(),
    )?;
    let directions = [Direction::Minimize];
    let settings = Settings::default();
    let mut strategy = CmaEs.create(&StudySetup {
        space: &space,
        directions: &directions,
        seed: 0,
        settings: &settings,
    })?;
    let mut trials: Vec<Trial> = Vec::with_capacity(last);
    let mut spent = 0.0;
    for number in 0..last as u64 {
        let start = Instant::now();
        let params = strategy.ask(&ctx(&space, &directions, &trials, number))?;
        spent += start.elapsed().as_secs_f64();
        let value: f64 = params
            .values()
            .filter_map(|v| v.as_f64())
            .map(|x| x * x)
            .sum();
        let mut trial = Trial::running(number, params, 0);
        trial.state = TrialState::Complete;
        trial.values = vec![value];
        trials.push(trial);
        let start = Instant::now();
        strategy.tell(
            &ctx(&space, &directions, &trials, number),
            &trials[trials.len() - 1],
        )?;
        spent += start.elapsed().as_secs_f64();
        let n = number as usize + 1;
        if checkpoints.contains(&n) {
            println!(
                "cmaes: {n} trials, sampler {:.4} s in all, {:.5} ms per trial",
                spent,
                1e3 * spent / n as f64
            );
        }
    }
    Ok(())
}

fn ctx<'a>(
    space: &'a Space,
    directions: &'a [Direction],
    trials: &'a [Trial],
    number: u64,
) -> AskContext<'a> {
    AskContext {
        space,
        directions,
        seed: 0,
        trials,
        running: &[],
        number,
    }
}
