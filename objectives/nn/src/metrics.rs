//! Validation scores, and the metrics a study may select from them.

use hyperplug_core::{Direction, Metric};

use crate::data::Task;

/// The share of rows whose most probable class (the first, among ties) is the true one.
/// `probs` holds `labels.len()` rows of `classes` probabilities.
pub fn accuracy(probs: &[f32], labels: &[u32], classes: usize) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let hits = labels
        .iter()
        .zip(probs.chunks_exact(classes))
        .filter(|&(&y, row)| argmax(row) == y as usize)
        .count();
    hits as f64 / labels.len() as f64
}

/// The index of the largest value (the first among ties; NaN never wins).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] || row[best].is_nan() {
            best = i;
        }
    }
    best
}

/// Probabilities are clipped to `[LOG_LOSS_EPS, 1]` before their logarithm, so a confident
/// mistake costs about 34.5 rather than infinity (scikit-learn clips the same way).
pub const LOG_LOSS_EPS: f64 = 1e-15;

/// The mean negative log-probability of the true class (cross-entropy, natural logarithm).
pub fn log_loss(probs: &[f32], labels: &[u32], classes: usize) -> f64 {
    if labels.is_empty() {
        return 0.0;
    }
    let total: f64 = labels
        .iter()
        .zip(probs.chunks_exact(classes))
        .map(|(&y, row)| -f64::from(row[y as usize]).clamp(LOG_LOSS_EPS, 1.0).ln())
        .sum();
    total / labels.len() as f64
}

/// The root of the mean squared error.
pub fn rmse(pred: &[f64], truth: &[f64]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let sse: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    (sse / truth.len() as f64).sqrt()
}

/// The coefficient of determination, 1 − SS_res / SS_tot around the mean of `truth`. A constant
/// `truth` gives 1 for a perfect prediction and 0 otherwise (scikit-learn's convention).
pub fn r2(pred: &[f64], truth: &[f64]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    let mean = truth.iter().sum::<f64>() / truth.len() as f64;
    let ss_tot: f64 = truth.iter().map(|t| (t - mean).powi(2)).sum();
    let ss_res: f64 = pred.iter().zip(truth).map(|(p, t)| (p - t).powi(2)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

/// The mean and the population standard deviation (divided by n, as numpy's default).
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// A score computed on each validation fold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Score {
    /// Classification accuracy, higher is better.
    Accuracy,
    /// Cross-entropy of the predicted probabilities, lower is better.
    LogLoss,
    /// Root mean squared error, in the target's units; lower is better.
    Rmse,
    /// Coefficient of determination; higher is better.
    R2,
}

impl Score {
    /// Its name in settings and results.
    pub fn name(self) -> &'static str {
        match self {
            Score::Accuracy => "accuracy",
            Score::LogLoss => "log_loss",
            Score::Rmse => "rmse",
            Score::R2 => "r2",
        }
    }

    /// Which way is better.
    pub fn direction(self) -> Direction {
        match self {
            Score::Accuracy | Score::R2 => Direction::Maximize,
            Score::LogLoss | Score::Rmse => Direction::Minimize,
        }
    }

    /// The task it judges.
    pub fn task(self) -> Task {
        match self {
            Score::Accuracy | Score::LogLoss => Task::Classification,
            Score::Rmse | Score::R2 => Task::Regression,
        }
    }

    /// The scores of a task, in the order they are attached to trials.
    pub fn of(task: Task) -> [Score; 2] {
        match task {
            Task::Classification => [Score::Accuracy, Score::LogLoss],
            Task::Regression => [Score::Rmse, Score::R2],
        }
    }

    fn from_name(name: &str) -> Option<Score> {
        [Score::Accuracy, Score::LogLoss, Score::Rmse, Score::R2]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// One value a study can optimize.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Selected {
    /// A score's mean over the validation folds.
    Mean(Score),
    /// A score's standard deviation over the folds (`accuracy_std`, …): lower is steadier.
    Std(Score),
    /// Seconds spent training every fold (wall time, validation passes included); lower is better.
    TrainTime,
    /// The network's parameter count (weights and biases); lower is smaller.
    Params,
}

/// Every name `metrics` accepts.
pub const METRIC_NAMES: &str = "accuracy, log_loss, rmse, r2, accuracy_std, log_loss_std, rmse_std, r2_std, train_time, params";

impl Selected {
    /// Reads one name of `metrics`.
    pub fn from_name(name: &str) -> Option<Selected> {
        match name {
            "train_time" => Some(Selected::TrainTime),
            "params" => Some(Selected::Params),
            _ => match name.strip_suffix("_std") {
                Some(base) => Score::from_name(base).map(Selected::Std),
                None => Score::from_name(name).map(Selected::Mean),
            },
        }
    }

    /// Its name in settings and results.
    pub fn name(self) -> String {
        match self {
            Selected::Mean(s) => s.name().to_owned(),
            Selected::Std(s) => format!("{}_std", s.name()),
            Selected::TrainTime => "train_time".to_owned(),
            Selected::Params => "params".to_owned(),
        }
    }

    /// The metric with its natural direction.
    pub fn metric(self) -> Metric {
        match self {
            Selected::Mean(s) => Metric {
                name: self.name(),
                direction: s.direction(),
            },
            _ => Metric::minimize(self.name()),
        }
    }

    /// The score it is computed from, if any.
    pub fn score(self) -> Option<Score> {
        match self {
            Selected::Mean(s) | Selected::Std(s) => Some(s),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_match_hand_computed_values() {
        // Three rows, two classes: predictions 0, 1, 0 (the tie goes to the first); truth 0, 1, 1.
        let probs = [0.8, 0.2, 0.3, 0.7, 0.5, 0.5];
        let labels = [0, 1, 1];
        assert!((accuracy(&probs, &labels, 2) - 2.0 / 3.0).abs() < 1e-12);
        // -(ln 0.8 + ln 0.7 + ln 0.5) / 3 = 0.42432189185...
        let expected = -(0.8f64.ln() + 0.7f64.ln() + 0.5f64.ln()) / 3.0;
        assert!((expected - 0.424_321_891_85).abs() < 1e-10);
        assert!((log_loss(&probs, &labels, 2) - expected).abs() < 1e-7);
        // A zero probability on the truth costs -ln(1e-15), not infinity.
        assert!((log_loss(&[1.0, 0.0], &[1], 2) - 34.538_776_394_910_684).abs() < 1e-9);

        // Errors 1, -2, 0, 1: MSE = 6/4, RMSE = 1.2247...
        let truth = [1.0, 2.0, 3.0, 4.0];
        let pred = [2.0, 0.0, 3.0, 5.0];
        assert!((rmse(&pred, &truth) - 1.5f64.sqrt()).abs() < 1e-12);
        // SS_tot = 2.25 + 0.25 + 0.25 + 2.25 = 5, SS_res = 6: R² = 1 - 6/5 = -0.2.
        assert!((r2(&pred, &truth) - -0.2).abs() < 1e-12);
        assert_eq!(r2(&truth, &truth), 1.0);
        assert_eq!(r2(&[1.0, 2.0], &[3.0, 3.0]), 0.0);

        let (m, s) = mean_std(&[0.9, 1.0, 0.8]);
        assert!((m - 0.9).abs() < 1e-12);
        assert!((s - (0.02f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(argmax(&[f32::NAN, 0.1, 0.3, 0.3]), 2);
    }

    #[test]
    fn metric_names_and_directions() {
        let names: Vec<String> = METRIC_NAMES
            .split(", ")
            .map(|n| Selected::from_name(n).expect(n).name())
            .collect();
        assert_eq!(names.join(", "), METRIC_NAMES);
        assert_eq!(
            Selected::from_name("accuracy").unwrap().metric(),
            Metric::maximize("accuracy")
        );
        assert_eq!(
            Selected::from_name("accuracy_std").unwrap().metric(),
            Metric::minimize("accuracy_std")
        );
        assert_eq!(
            Selected::from_name("r2").unwrap().metric().direction,
            Direction::Maximize
        );
        assert_eq!(Selected::from_name("f1"), None);
        assert_eq!(Selected::from_name("params_std"), None);
    }
}
