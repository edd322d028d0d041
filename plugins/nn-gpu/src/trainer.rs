//! One fold's MLP trained through [`Ops`]: the forward pass, backpropagation written out layer by
//! layer, and the optimizer steps, as device operations queued on one stream. The seeded parts
//! follow the CPU backend: the same initial weights ([`init_weights`]) and the same batch order
//! from the fold's generator; dropout masks come from a hash of a seed drawn from it.

use std::sync::Arc;

use hyperplug_nn::{
    ADAM_BETA1, ADAM_BETA2, Backend, FoldData, FoldModel, FoldTargets, Hyperparams, MAX_LAYERS,
    Optimizer, TrainError, init_weights, shuffle,
};
use hyperplug_sdk::SeedRng;
use rand::Rng;

use crate::ops::Ops;

/// A [`Backend`] over any [`Ops`]; folds train one after another on its queue.
pub struct OpsBackend<O: Ops> {
    ops: Arc<O>,
    description: String,
}

impl<O: Ops> OpsBackend<O> {
    /// A backend whose results say `description`.
    pub fn new(ops: Arc<O>, description: String) -> Self {
        OpsBackend { ops, description }
    }
}

impl<O: Ops + 'static> Backend for OpsBackend<O> {
    fn describe(&self) -> String {
        self.description.clone()
    }

    fn model(
        &self,
        data: FoldData<'_>,
        hyper: &Hyperparams,
    ) -> Result<Box<dyn FoldModel>, TrainError> {
        Ok(Box::new(Trainer::new(Arc::clone(&self.ops), data, hyper)?))
    }
}

/// A weight matrix or bias vector with its gradient and optimizer state.
struct Tensor<O: Ops> {
    value: O::Buf,
    grad: O::Buf,
    /// SGD: the velocity. Adam: the first moment.
    m: O::Buf,
    /// Adam: the second moment.
    v: O::Buf,
    len: usize,
}

impl<O: Ops> Tensor<O> {
    fn new(ops: &O, init: &[f32]) -> Result<Self, TrainError> {
        Ok(Tensor {
            value: ops.upload(init)?,
            grad: ops.zeros(init.len())?,
            m: ops.zeros(init.len())?,
            v: ops.zeros(init.len())?,
            len: init.len(),
        })
    }
}

struct Layer<O: Ops> {
    inputs: usize,
    outputs: usize,
    w: Tensor<O>,
    b: Tensor<O>,
    /// Pre-activations, `max_rows × outputs`.
    z: O::Buf,
    /// Activations after dropout (hidden layers; unused for the output layer).
    h: O::Buf,
    /// The loss's gradient with respect to `z`, `batch × outputs`.
    dz: O::Buf,
}

/// Where a forward pass reads its input.
#[derive(Clone, Copy)]
enum Input {
    Batch,
    Valid,
}

struct Trainer<O: Ops> {
    ops: Arc<O>,
    x_train: O::Buf,
    x_valid: O::Buf,
    labels: Option<O::Idx>,
    values: Option<O::Buf>,
    order: O::Idx,
    xb: O::Buf,
    yb_labels: Option<O::Idx>,
    yb_values: Option<O::Buf>,
    layers: Vec<Layer<O>>,
    hyper: Hyperparams,
    n_train: usize,
    n_valid: usize,
    inputs: usize,
    outputs: usize,
    batch: usize,
    rng: SeedRng,
    dropout_seed: u64,
    /// Training steps so far: Adam's t, and the dropout masks' call numbers.
    steps: u64,
}

/// Kernels index with 32-bit integers.
const MAX_ELEMENTS: usize = i32::MAX as usize;

impl<O: Ops> Trainer<O> {
    fn new(ops: Arc<O>, mut data: FoldData<'_>, hyper: &Hyperparams) -> Result<Self, TrainError> {
        let (n_train, n_valid, inputs, outputs) =
            (data.n_train(), data.n_valid(), data.inputs, data.outputs);
        let batch = hyper.batch_size.clamp(1, n_train.max(1));
        let max_rows = batch.max(n_valid);
        let widths = hyper.widths(inputs, outputs);
        let widest = widths.iter().copied().max().unwrap_or(1);
        let largest = [n_train * inputs, n_valid * inputs, max_rows * widest]
            .into_iter()
            .chain(widths.windows(2).map(|w| w[0] * w[1]))
            .max()
            .unwrap_or(0);
        if largest > MAX_ELEMENTS {
            return Err(TrainError::new(format!(
                "a buffer of {largest} values is too large for the GPU kernels (at most {MAX_ELEMENTS})"
            )));
        }
        let weights = init_weights(&widths, hyper.activation, &mut data.rng);
        // Drawn only when used, so that without dropout the batch order matches the CPU's.
        let dropout_seed = if hyper.dropout > 0.0 {
            data.rng.random::<u64>()
        } else {
            0
        };
        let mut layers = Vec::with_capacity(widths.len() - 1);
        for (w, init) in widths.windows(2).zip(&weights) {
            let (i, o) = (w[0], w[1]);
            layers.push(Layer {
                inputs: i,
                outputs: o,
                w: Tensor::new(&*ops, init)?,
                b: Tensor::new(&*ops, &vec![0.0; o])?,
                z: ops.zeros(max_rows * o)?,
                h: ops.zeros(max_rows * o)?,
                dz: ops.zeros(batch * o)?,
            });
        }
        let (labels, values, yb_labels, yb_values) = match data.y_train {
            FoldTargets::Classes(y) => (
                Some(ops.upload_idx(y)?),
                None,
                Some(ops.upload_idx(&vec![0; batch])?),
                None,
            ),
            FoldTargets::Values(y) => (None, Some(ops.upload(y)?), None, Some(ops.zeros(batch)?)),
        };
        Ok(Trainer {
            x_train: ops.upload(data.x_train)?,
            x_valid: ops.upload(data.x_valid)?,
            order: ops.upload_idx(&vec![0; n_train])?,
            xb: ops.zeros(batch * inputs)?,
            labels,
            values,
            yb_labels,
            yb_values,
            layers,
            hyper: hyper.clone(),
            n_train,
            n_valid,
            inputs,
            outputs,
            batch,
            rng: data.rng,
            dropout_seed,
            steps: 0,
            ops,
        })
    }

    /// The dropout call number of hidden layer `k` in the current step.
    fn call(&self, k: usize) -> u64 {
        self.steps * MAX_LAYERS as u64 + k as u64
    }

    fn forward(&mut self, input: Input, rows: usize, train: bool) -> Result<(), TrainError> {
        let ops = &*self.ops;
        let keep = (1.0 - self.hyper.dropout) as f32;
        let dropout = train && self.hyper.dropout > 0.0;
        let last = self.layers.len() - 1;
        for k in 0..self.layers.len() {
            let call = self.call(k);
            let (before, rest) = self.layers.split_at_mut(k);
            let layer = &mut rest[0];
            let x = match (k, input) {
                (0, Input::Batch) => &self.xb,
                (0, Input::Valid) => &self.x_valid,
                _ => &before[k - 1].h,
            };
            ops.gemm(
                false,
                false,
                rows,
                layer.outputs,
                layer.inputs,
                x,
                &layer.w.value,
                &mut layer.z,
            )?;
            if k == last {
                ops.bias_add(&mut layer.z, &layer.b.value, rows, layer.outputs)?;
            } else {
                ops.bias_act(
                    &mut layer.z,
                    &layer.b.value,
                    rows,
                    layer.outputs,
                    self.hyper.activation,
                    &mut layer.h,
                )?;
                if dropout {
                    let n = rows * layer.outputs;
                    ops.dropout(&mut layer.h, n, keep, self.dropout_seed, call)?;
                }
            }
        }
        Ok(())
    }

    /// Gradients of the mean loss over the batch of `rows` rows just passed forward.
    fn backward(&mut self, rows: usize) -> Result<(), TrainError> {
        let ops = &*self.ops;
        let keep = (1.0 - self.hyper.dropout) as f32;
        let dropout = self.hyper.dropout > 0.0;
        let last = self.layers.len() - 1;
        {
            let out = &mut self.layers[last];
            match (&self.yb_labels, &self.yb_values) {
                (Some(labels), _) => {
                    ops.softmax_xent_grad(&out.z, labels, rows, self.outputs, &mut out.dz)?
                }
                (None, Some(y)) => ops.mse_grad(&out.z, y, rows, &mut out.dz)?,
                (None, None) => return Err(TrainError::new("the fold has no targets")),
            }
        }
        for k in (0..self.layers.len()).rev() {
            let call = if k > 0 { self.call(k - 1) } else { 0 };
            let (before, rest) = self.layers.split_at_mut(k);
            let layer = &mut rest[0];
            let x = if k == 0 { &self.xb } else { &before[k - 1].h };
            // dW = xᵀ·dz, db = Σ_rows dz.
            ops.gemm(
                true,
                false,
                layer.inputs,
                layer.outputs,
                rows,
                x,
                &layer.dz,
                &mut layer.w.grad,
            )?;
            ops.col_sum(&layer.dz, rows, layer.outputs, &mut layer.b.grad)?;
            if k == 0 {
                break;
            }
            // The previous layer's dz = (dz·Wᵀ) through its dropout mask and activation.
            let prev = &mut before[k - 1];
            ops.gemm(
                false,
                true,
                rows,
                layer.inputs,
                layer.outputs,
                &layer.dz,
                &layer.w.value,
                &mut prev.dz,
            )?;
            let n = rows * prev.outputs;
            if dropout {
                ops.dropout(&mut prev.dz, n, keep, self.dropout_seed, call)?;
            }
            ops.act_backward(&mut prev.dz, &prev.z, n, self.hyper.activation)?;
        }
        Ok(())
    }

    fn update(&mut self) -> Result<(), TrainError> {
        let ops = &*self.ops;
        let h = &self.hyper;
        let t = i32::try_from(self.steps).unwrap_or(i32::MAX);
        let (bc1, bc2) = (
            (1.0 - ADAM_BETA1.powi(t)) as f32,
            (1.0 - ADAM_BETA2.powi(t)) as f32,
        );
        for layer in &mut self.layers {
            // The penalties apply to weights, not biases.
            for (p, (l1, l2)) in [
                (&mut layer.w, (h.l1 as f32, h.l2 as f32)),
                (&mut layer.b, (0.0, 0.0)),
            ] {
                match h.optimizer {
                    Optimizer::Sgd => ops.sgd(
                        &mut p.value,
                        &p.grad,
                        &mut p.m,
                        p.len,
                        h.lr as f32,
                        h.momentum as f32,
                        l1,
                        l2,
                    )?,
                    Optimizer::Adam => ops.adam(
                        &mut p.value,
                        &p.grad,
                        &mut p.m,
                        &mut p.v,
                        p.len,
                        h.lr as f32,
                        bc1,
                        bc2,
                        l1,
                        l2,
                    )?,
                }
            }
        }
        Ok(())
    }
}

impl<O: Ops> FoldModel for Trainer<O> {
    fn train_epoch(&mut self) -> Result<(), TrainError> {
        let mut order: Vec<u32> = (0..self.n_train as u32).collect();
        shuffle(&mut order, &mut self.rng);
        self.ops.write_idx(&mut self.order, &order)?;
        let mut offset = 0;
        while offset < self.n_train {
            let rows = self.batch.min(self.n_train - offset);
            let ops = &*self.ops;
            ops.gather_rows(
                &self.x_train,
                self.inputs,
                &self.order,
                offset,
                rows,
                &mut self.xb,
            )?;
            match (
                &self.labels,
                &mut self.yb_labels,
                &self.values,
                &mut self.yb_values,
            ) {
                (Some(src), Some(dst), _, _) => {
                    ops.gather_labels(src, &self.order, offset, rows, dst)?
                }
                (_, _, Some(src), Some(dst)) => {
                    ops.gather_rows(src, 1, &self.order, offset, rows, dst)?
                }
                _ => return Err(TrainError::new("the fold has no targets")),
            }
            self.steps += 1;
            self.forward(Input::Batch, rows, true)?;
            self.backward(rows)?;
            self.update()?;
            offset += rows;
        }
        Ok(())
    }

    fn predict_valid(&mut self) -> Result<Vec<f32>, TrainError> {
        let rows = self.n_valid;
        self.forward(Input::Valid, rows, false)?;
        let classification = self.labels.is_some();
        let out = self
            .layers
            .last_mut()
            .ok_or_else(|| TrainError::new("the network has no layers"))?;
        if classification {
            self.ops.softmax_rows(&mut out.z, rows, self.outputs)?;
        }
        self.ops.download(&out.z, rows * self.outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host_ops::HostOps;
    use hyperplug_nn::{Activation, Bundled, CandleCpu, Targets, accuracy};
    use hyperplug_sdk::trial_rng;

    /// Iris (or diabetes) split into 120 training and 30 validation rows, scaled to unit-ish range.
    struct Split {
        x_train: Vec<f32>,
        x_valid: Vec<f32>,
        classes: Vec<u32>,
        valid_classes: Vec<u32>,
        values: Vec<f32>,
        inputs: usize,
        outputs: usize,
    }

    fn split(dataset: Bundled) -> Split {
        let data = dataset.load().unwrap();
        let d = data.n_features();
        let n = data.n_samples().min(150);
        let scale: Vec<f32> = (0..d)
            .map(|j| (0..n).map(|i| data.row(i)[j].abs()).fold(1e-6, f32::max))
            .collect();
        let rows = |keep: &dyn Fn(usize) -> bool| -> Vec<f32> {
            (0..n)
                .filter(|&i| keep(i))
                .flat_map(|i| {
                    data.row(i)
                        .iter()
                        .zip(&scale)
                        .map(|(v, s)| v / s)
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let valid = |i: usize| i.is_multiple_of(5);
        let (classes, valid_classes, values) = match data.targets() {
            Targets::Classes { labels, .. } => (
                (0..n).filter(|&i| !valid(i)).map(|i| labels[i]).collect(),
                (0..n).filter(|&i| valid(i)).map(|i| labels[i]).collect(),
                Vec::new(),
            ),
            Targets::Values(y) => (
                Vec::new(),
                Vec::new(),
                (0..n)
                    .filter(|&i| !valid(i))
                    .map(|i| ((y[i] - 150.0) / 80.0) as f32)
                    .collect(),
            ),
        };
        Split {
            x_train: rows(&|i| !valid(i)),
            x_valid: rows(&valid),
            classes,
            valid_classes,
            values,
            inputs: d,
            outputs: data.n_classes().max(1),
        }
    }

    fn fold<'a>(s: &'a Split, seed: u64) -> FoldData<'a> {
        FoldData {
            x_train: &s.x_train,
            y_train: if s.classes.is_empty() {
                FoldTargets::Values(&s.values)
            } else {
                FoldTargets::Classes(&s.classes)
            },
            x_valid: &s.x_valid,
            inputs: s.inputs,
            outputs: s.outputs,
            rng: trial_rng(seed, 1),
        }
    }

    fn host() -> OpsBackend<HostOps> {
        OpsBackend::new(Arc::new(HostOps), "host".into())
    }

    fn hyper(optimizer: Optimizer, activation: Activation) -> Hyperparams {
        Hyperparams {
            lr: 0.01,
            batch_size: 16,
            optimizer,
            momentum: 0.9,
            l1: 1e-4,
            l2: 1e-3,
            dropout: 0.0,
            hidden: vec![8, 6],
            activation,
            epochs: 2,
            layers: Vec::new(),
        }
    }

    /// The largest difference between the two backends' validation outputs after `epochs`.
    fn gap(s: &Split, h: &Hyperparams, epochs: usize) -> f32 {
        let mut a = CandleCpu.model(fold(s, 9), h).unwrap();
        let mut b = host().model(fold(s, 9), h).unwrap();
        let (mut pa, mut pb) = (a.predict_valid().unwrap(), b.predict_valid().unwrap());
        for _ in 0..epochs {
            a.train_epoch().unwrap();
            b.train_epoch().unwrap();
            pa = a.predict_valid().unwrap();
            pb = b.predict_valid().unwrap();
        }
        assert_eq!(pa.len(), pb.len());
        pa.iter()
            .zip(&pb)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn the_gpu_trainer_matches_candle_step_for_step() {
        // Same initial weights, batch order and optimizer arithmetic (no dropout): the outputs
        // agree to rounding (about 1e-6 measured), before training and after two epochs (16
        // steps), for every activation and both optimizers, with both penalties on.
        let iris = split(Bundled::Iris);
        for act in [
            Activation::Relu,
            Activation::Tanh,
            Activation::Gelu,
            Activation::Sigmoid,
        ] {
            for opt in [Optimizer::Adam, Optimizer::Sgd] {
                let h = hyper(opt, act);
                assert!(gap(&iris, &h, 0) < 1e-5, "{act:?} {opt:?} before training");
                let g = gap(&iris, &h, 2);
                assert!(g < 1e-4, "{act:?} {opt:?}: outputs differ by {g}");
            }
        }
        // Regression: the squared-error gradient and a single output.
        let diabetes = split(Bundled::Diabetes);
        let g = gap(&diabetes, &hyper(Optimizer::Adam, Activation::Relu), 2);
        assert!(g < 1e-4, "regression outputs differ by {g}");
    }

    #[test]
    fn the_gpu_trainer_learns_with_dropout() {
        let iris = split(Bundled::Iris);
        let h = Hyperparams {
            dropout: 0.2,
            hidden: vec![16],
            optimizer: Optimizer::Adam,
            ..hyper(Optimizer::Adam, Activation::Relu)
        };
        let mut m = host().model(fold(&iris, 3), &h).unwrap();
        for _ in 0..30 {
            m.train_epoch().unwrap();
        }
        let out = m.predict_valid().unwrap();
        // Probabilities, one row per validation row.
        for row in out.chunks_exact(3) {
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        }
        let acc = accuracy(&out, &iris.valid_classes, 3);
        assert!(acc > 0.85, "accuracy {acc}");
    }
}
