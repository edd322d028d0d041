//! The part of training that does not depend on where the arithmetic runs: standardizing each
//! fold, training the folds in lockstep, scoring, reporting, pruning, and the results. A
//! [`Backend`] supplies the models (candle on the CPU here; CUDA in the GPU plugin).

use std::time::Instant;

use hyperplug_core::{Evaluation, SeedRng, TrialContext, TrialError, TrialOutcome, Value};
use rayon::prelude::*;

use crate::cv::Fold;
use crate::data::{Dataset, Targets, Task};
use crate::error::TrainError;
use crate::hyper::Hyperparams;
use crate::metrics::{Score, Selected, accuracy, log_loss, mean_std, r2, rmse};

/// The targets a fold's model trains on.
#[derive(Clone, Copy, Debug)]
pub enum FoldTargets<'a> {
    /// Class indices, `0..outputs`.
    Classes(&'a [u32]),
    /// Values standardized with the training rows' mean and deviation; the model predicts on
    /// that scale.
    Values(&'a [f32]),
}

/// What one fold's model is built from. Features are standardized with the training rows'
/// statistics only, so nothing of the validation rows leaks into training.
pub struct FoldData<'a> {
    /// Training features, `n_train × inputs`, row-major.
    pub x_train: &'a [f32],
    /// Training targets, one per training row.
    pub y_train: FoldTargets<'a>,
    /// Validation features, `n_valid × inputs`, row-major.
    pub x_valid: &'a [f32],
    /// Features per row.
    pub inputs: usize,
    /// Outputs of the network: the number of classes, or 1 for regression.
    pub outputs: usize,
    /// The fold's own generator: initial weights, batch order and dropout masks come from it.
    pub rng: SeedRng,
}

impl FoldData<'_> {
    /// Training rows.
    pub fn n_train(&self) -> usize {
        self.x_train.len() / self.inputs
    }

    /// Validation rows.
    pub fn n_valid(&self) -> usize {
        self.x_valid.len() / self.inputs
    }

    /// The task the targets describe.
    pub fn task(&self) -> Task {
        match self.y_train {
            FoldTargets::Classes(_) => Task::Classification,
            FoldTargets::Values(_) => Task::Regression,
        }
    }
}

/// Where networks are trained. Implemented by [`crate::CandleCpu`] and by the GPU plugin.
pub trait Backend: Sync {
    /// A short description for results and logs, e.g. `candle-cpu` or `cuda:0 (NVIDIA H200)`.
    fn describe(&self) -> String;

    /// Builds the network `hyper` describes for one fold, with its initial weights.
    fn model(
        &self,
        data: FoldData<'_>,
        hyper: &Hyperparams,
    ) -> Result<Box<dyn FoldModel>, TrainError>;

    /// Whether several folds may train at once on separate threads (true for CPU backends).
    fn parallel_folds(&self) -> bool {
        false
    }

    /// Whether it builds the architecture mode's networks ([`Hyperparams::layers`]: per-layer
    /// activation, dropout and shortcuts); a backend that does not gets no such trial.
    fn per_layer(&self) -> bool {
        false
    }
}

/// One fold's network while it trains.
pub trait FoldModel: Send {
    /// One pass over the training rows in a fresh random order, in batches.
    fn train_epoch(&mut self) -> Result<(), TrainError>;

    /// The network's outputs on the validation rows, `n_valid × outputs`, row-major, without
    /// dropout: class probabilities (each row sums to 1) for classification, standardized
    /// predictions for regression.
    fn predict_valid(&mut self) -> Result<Vec<f32>, TrainError>;
}

/// One fold, standardized once when the objective is created and reused by every trial.
pub(crate) struct PreparedFold {
    x_train: Vec<f32>,
    x_valid: Vec<f32>,
    classes_train: Vec<u32>,
    classes_valid: Vec<u32>,
    values_train: Vec<f32>,
    values_valid: Vec<f64>,
    y_mean: f64,
    y_std: f64,
}

/// Standardizes one fold: each feature (and a regression target) minus the training rows' mean,
/// over their standard deviation; a constant feature is only centred.
pub(crate) fn prepare_fold(data: &Dataset, fold: &Fold) -> PreparedFold {
    let d = data.n_features();
    let mut mean = vec![0f64; d];
    let mut sq = vec![0f64; d];
    for &i in &fold.train {
        for (j, &v) in data.row(i).iter().enumerate() {
            mean[j] += f64::from(v);
        }
    }
    let n = fold.train.len().max(1) as f64;
    mean.iter_mut().for_each(|m| *m /= n);
    for &i in &fold.train {
        for (j, &v) in data.row(i).iter().enumerate() {
            sq[j] += (f64::from(v) - mean[j]).powi(2);
        }
    }
    let scale: Vec<f64> = sq
        .iter()
        .map(|s| {
            let sd = (s / n).sqrt();
            if sd > 1e-12 { sd } else { 1.0 }
        })
        .collect();
    let standardize = |rows: &[usize]| -> Vec<f32> {
        rows.iter()
            .flat_map(|&i| data.row(i).iter().enumerate())
            .map(|(j, &v)| ((f64::from(v) - mean[j]) / scale[j]) as f32)
            .collect()
    };
    let mut prepared = PreparedFold {
        x_train: standardize(&fold.train),
        x_valid: standardize(&fold.valid),
        classes_train: Vec::new(),
        classes_valid: Vec::new(),
        values_train: Vec::new(),
        values_valid: Vec::new(),
        y_mean: 0.0,
        y_std: 1.0,
    };
    match data.targets() {
        Targets::Classes { labels, .. } => {
            prepared.classes_train = fold.train.iter().map(|&i| labels[i]).collect();
            prepared.classes_valid = fold.valid.iter().map(|&i| labels[i]).collect();
        }
        Targets::Values(y) => {
            let train: Vec<f64> = fold.train.iter().map(|&i| y[i]).collect();
            let (m, s) = mean_std(&train);
            let s = if s > 1e-12 { s } else { 1.0 };
            prepared.values_train = train.iter().map(|v| ((v - m) / s) as f32).collect();
            prepared.values_valid = fold.valid.iter().map(|&i| y[i]).collect();
            prepared.y_mean = m;
            prepared.y_std = s;
        }
    }
    prepared
}

/// Everything a cross-validated evaluation needs besides the hyperparameters.
pub(crate) struct CvSetup<'a> {
    pub task: Task,
    pub inputs: usize,
    pub outputs: usize,
    pub folds: &'a [PreparedFold],
    pub selected: &'a [Selected],
    pub seed: u64,
    pub pool: &'a rayon::ThreadPool,
}

/// Trains one network per fold, epoch by epoch in lockstep; after each epoch reports the first
/// selected metric as it stands (step = epoch, from 1) and stops with [`TrialError::Pruned`] as
/// soon as the study asks.
pub(crate) fn cross_validate(
    setup: &CvSetup<'_>,
    hyper: &Hyperparams,
    backend: &dyn Backend,
    ctx: &mut dyn TrialContext,
) -> TrialOutcome {
    let started = Instant::now();
    let mut models = setup
        .folds
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let data = FoldData {
                x_train: &f.x_train,
                y_train: match setup.task {
                    Task::Classification => FoldTargets::Classes(&f.classes_train),
                    Task::Regression => FoldTargets::Values(&f.values_train),
                },
                x_valid: &f.x_valid,
                inputs: setup.inputs,
                outputs: setup.outputs,
                // Stream 0 split the rows; fold i draws from stream i + 1. The trial number plays
                // no part: equal parameters give equal results in any trial.
                rng: hyperplug_core::trial_rng(setup.seed, i as u64 + 1),
            };
            backend.model(data, hyper)
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TrialError::failed(format!("cannot build the network: {e}")))?;

    let params = hyper.param_count(setup.inputs, setup.outputs);
    let value = |sel: Selected, scores: &[[f64; 2]], seconds: f64| match sel {
        Selected::Mean(s) => mean_std(&column(scores, setup.task, s)).0,
        Selected::Std(s) => mean_std(&column(scores, setup.task, s)).1,
        Selected::TrainTime => seconds,
        Selected::Params => params as f64,
    };
    let mut scores = Vec::new();
    for epoch in 1..=hyper.epochs {
        let outputs = setup.pool.install(|| {
            let step = |m: &mut Box<dyn FoldModel>| {
                m.train_epoch()?;
                m.predict_valid()
            };
            if backend.parallel_folds() {
                models.par_iter_mut().map(step).collect::<Vec<_>>()
            } else {
                models.iter_mut().map(step).collect::<Vec<_>>()
            }
        });
        scores.clear();
        for (i, out) in outputs.into_iter().enumerate() {
            let out = out.map_err(|e| {
                TrialError::failed(format!(
                    "training failed at epoch {epoch}, fold {}: {e}",
                    i + 1
                ))
            })?;
            if out.iter().any(|v| !v.is_finite()) {
                return Err(TrialError::failed(format!(
                    "training diverged at epoch {epoch}, fold {}: the network's outputs are no longer finite numbers; try a lower `lr`",
                    i + 1
                )));
            }
            scores.push(fold_scores(setup, &setup.folds[i], &out));
        }
        let first = setup.selected.first().copied().unwrap_or(Selected::Params);
        ctx.report(
            epoch as u64,
            value(first, &scores, started.elapsed().as_secs_f64()),
        );
        if ctx.should_prune() {
            return Err(TrialError::Pruned);
        }
    }
    let train_time = started.elapsed().as_secs_f64();

    let mut eval = Evaluation {
        values: setup
            .selected
            .iter()
            .map(|&sel| value(sel, &scores, train_time))
            .collect(),
        ..Evaluation::default()
    };
    for s in Score::of(setup.task) {
        let (mean, std) = mean_std(&column(&scores, setup.task, s));
        eval.attrs.insert(s.name().to_owned(), Value::Float(mean));
        eval.attrs
            .insert(format!("{}_std", s.name()), Value::Float(std));
    }
    eval.attrs
        .insert("train_time".into(), Value::Float(train_time));
    eval.attrs
        .insert("params".into(), Value::Int(params as i64));
    eval.attrs
        .insert("epochs".into(), Value::Int(hyper.epochs as i64));
    eval.attrs
        .insert("backend".into(), Value::Str(backend.describe()));
    Ok(eval)
}

/// A fold's two scores for its task, in [`Score::of`] order.
fn fold_scores(setup: &CvSetup<'_>, fold: &PreparedFold, out: &[f32]) -> [f64; 2] {
    match setup.task {
        Task::Classification => [
            accuracy(out, &fold.classes_valid, setup.outputs),
            log_loss(out, &fold.classes_valid, setup.outputs),
        ],
        Task::Regression => {
            let pred: Vec<f64> = out
                .iter()
                .map(|&p| f64::from(p) * fold.y_std + fold.y_mean)
                .collect();
            [
                rmse(&pred, &fold.values_valid),
                r2(&pred, &fold.values_valid),
            ]
        }
    }
}

/// One score across the folds.
fn column(scores: &[[f64; 2]], task: Task, score: Score) -> Vec<f64> {
    let i = Score::of(task)
        .iter()
        .position(|&s| s == score)
        .unwrap_or(0);
    scores.iter().map(|s| s[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cv::Fold;

    #[test]
    fn standardization_uses_training_rows_only() {
        // Feature 0 is 0, 2, 4 on the training rows and 100 on the validation row; feature 1
        // is constant.
        let data = Dataset::new(
            "t",
            vec!["a".into(), "b".into()],
            vec![0.0, 5.0, 2.0, 5.0, 4.0, 5.0, 100.0, 5.0],
            Targets::Values(vec![1.0, 2.0, 3.0, 10.0]),
        )
        .unwrap();
        let fold = Fold {
            train: vec![0, 1, 2],
            valid: vec![3],
        };
        let p = prepare_fold(&data, &fold);
        let sd = (8.0f64 / 3.0).sqrt();
        let expect = [-2.0 / sd, 0.0, 0.0, 0.0, 2.0 / sd, 0.0];
        for (a, b) in p.x_train.iter().zip(expect) {
            assert!((f64::from(*a) - b).abs() < 1e-6, "{:?}", p.x_train);
        }
        assert!((f64::from(p.x_valid[0]) - 98.0 / sd).abs() < 1e-4);
        assert_eq!(p.x_valid[1], 0.0);
        // The target too, with the training mean 2 and deviation sqrt(2/3).
        assert_eq!(p.y_mean, 2.0);
        assert!((p.y_std - (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(p.values_valid, [10.0]);
    }
}
