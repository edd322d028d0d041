//! The CPU backend: candle tensors and autograd for the forward and backward passes; the seeded
//! parts (initial weights, batch order, dropout masks) and the optimizer steps written here, so
//! that a seed fixes every random draw.

use candle_core::{D, DType, Device, Tensor, Var};
use hyperplug_core::SeedRng;
use rand::Rng;

use crate::cv::shuffle;
use crate::engine::{Backend, FoldData, FoldModel, FoldTargets};
use crate::error::TrainError;
use crate::hyper::{ADAM_BETA1, ADAM_BETA2, ADAM_EPS, Activation, Hyperparams, Optimizer};

/// Trains on the CPU with candle. Folds train in parallel on the objective's thread pool (the
/// `threads` setting).
#[derive(Clone, Copy, Debug, Default)]
pub struct CandleCpu;

impl Backend for CandleCpu {
    fn describe(&self) -> String {
        "candle-cpu".into()
    }

    fn model(
        &self,
        data: FoldData<'_>,
        hyper: &Hyperparams,
    ) -> Result<Box<dyn FoldModel>, TrainError> {
        Ok(Box::new(CandleFold::new(data, hyper)?))
    }

    fn parallel_folds(&self) -> bool {
        true
    }

    fn per_layer(&self) -> bool {
        true
    }
}

/// The bound of the uniform distribution a layer's initial weights are drawn from: He
/// (√(6 / fan-in)) before ReLU and GELU, Glorot (√(6 / (fan-in + fan-out))) before tanh and
/// sigmoid and for the output layer. Biases start at zero. Shared with the GPU backend so both
/// start from the same weights.
pub fn init_bound(fan_in: usize, fan_out: usize, activation: Option<Activation>) -> f64 {
    match activation {
        Some(Activation::Relu | Activation::Gelu) => (6.0 / fan_in as f64).sqrt(),
        _ => (6.0 / (fan_in + fan_out) as f64).sqrt(),
    }
}

/// The initial weights of every layer, `widths[k] × widths[k + 1]` row-major, drawn in layer
/// order from `rng`.
pub fn init_weights(widths: &[usize], activation: Activation, rng: &mut SeedRng) -> Vec<Vec<f32>> {
    let hidden = vec![activation; widths.len().saturating_sub(2)];
    init_weights_per_layer(widths, &hidden, rng)
}

/// [`init_weights`] with each hidden layer's own activation (the architecture mode); the same
/// draws, so a network whose layers share one activation starts from the same weights.
pub fn init_weights_per_layer(
    widths: &[usize],
    activations: &[Activation],
    rng: &mut SeedRng,
) -> Vec<Vec<f32>> {
    widths
        .windows(2)
        .enumerate()
        .map(|(k, w)| {
            let act = activations.get(k).copied();
            let bound = init_bound(w[0], w[1], act) as f32;
            (0..w[0] * w[1])
                .map(|_| rng.random_range(-bound..=bound))
                .collect()
        })
        .collect()
}

struct Layer {
    w: Var,
    b: Var,
    /// The optimizer's state of w and b (see [`Moments`]).
    state: [Moments; 2],
}

/// One parameter tensor's values and optimizer state, in host memory: the update is one fused
/// loop here rather than a dozen tensor operations, each of which would allocate.
struct Moments {
    value: Vec<f32>,
    /// SGD: the velocity. Adam: the first moment.
    m: Vec<f32>,
    /// Adam: the second moment.
    v: Vec<f32>,
}

impl Moments {
    fn new(value: Vec<f32>) -> Moments {
        let n = value.len();
        Moments {
            value,
            m: vec![0.0; n],
            v: vec![0.0; n],
        }
    }
}

struct CandleFold {
    x_train: Tensor,
    /// u32 class indices, or f32 `n × 1` standardized values.
    y_train: Tensor,
    x_valid: Tensor,
    n_train: usize,
    layers: Vec<Layer>,
    hyper: Hyperparams,
    classification: bool,
    rng: SeedRng,
    steps: i32,
}

impl CandleFold {
    fn new(mut data: FoldData<'_>, hyper: &Hyperparams) -> Result<Self, TrainError> {
        let dev = Device::Cpu;
        let (n_train, n_valid) = (data.n_train(), data.n_valid());
        let x_train = Tensor::from_slice(data.x_train, (n_train, data.inputs), &dev)?;
        let x_valid = Tensor::from_slice(data.x_valid, (n_valid, data.inputs), &dev)?;
        let y_train = match data.y_train {
            FoldTargets::Classes(y) => Tensor::from_slice(y, n_train, &dev)?,
            FoldTargets::Values(y) => Tensor::from_slice(y, (n_train, 1), &dev)?,
        };
        let widths = hyper.widths(data.inputs, data.outputs);
        let activations: Vec<Activation> = match hyper.layers.as_slice() {
            [] => vec![hyper.activation; hyper.hidden.len()],
            layers => layers.iter().map(|l| l.activation).collect(),
        };
        let weights = init_weights_per_layer(&widths, &activations, &mut data.rng);
        let layers = widths
            .windows(2)
            .zip(weights)
            .map(|(w, init)| {
                Ok(Layer {
                    w: Var::from_slice(&init, (w[0], w[1]), &dev)?,
                    b: Var::zeros(w[1], DType::F32, &dev)?,
                    state: [Moments::new(init), Moments::new(vec![0.0; w[1]])],
                })
            })
            .collect::<Result<Vec<_>, candle_core::Error>>()?;
        Ok(CandleFold {
            x_train,
            y_train,
            x_valid,
            n_train,
            layers,
            hyper: hyper.clone(),
            classification: data.task() == crate::Task::Classification,
            rng: data.rng,
            steps: 0,
        })
    }

    /// The network's output (logits, or the regression value) for `x`; with `train`, dropout
    /// masks are drawn for every hidden layer.
    fn forward(&mut self, x: &Tensor, train: bool) -> Result<Tensor, TrainError> {
        let mut h = x.clone();
        let last = self.layers.len() - 1;
        for k in 0..self.layers.len() {
            let layer = &self.layers[k];
            let input = h;
            h = input
                .matmul(layer.w.as_tensor())?
                .broadcast_add(layer.b.as_tensor())?;
            if k == last {
                break;
            }
            let spec = self.hyper.layers.get(k);
            h = activate(&h, spec.map_or(self.hyper.activation, |s| s.activation))?;
            if spec.is_some_and(|s| s.skip) {
                h = h.add(&shortcut(&input, h.dim(1)?)?)?;
            }
            let p = spec.map_or(self.hyper.dropout, |s| s.dropout);
            if train && p > 0.0 {
                let keep = 1.0 - p;
                let scale = (1.0 / keep) as f32;
                let (rows, cols) = h.dims2()?;
                let mask: Vec<f32> = (0..rows * cols)
                    .map(|_| {
                        if self.rng.random::<f64>() < keep {
                            scale
                        } else {
                            0.0
                        }
                    })
                    .collect();
                h = h.mul(&Tensor::from_vec(mask, (rows, cols), h.device())?)?;
            }
        }
        Ok(h)
    }

    fn step(&mut self, rows: &[u32]) -> Result<(), TrainError> {
        let idx = Tensor::from_slice(rows, rows.len(), &Device::Cpu)?;
        let x = self.x_train.index_select(&idx, 0)?;
        let y = self.y_train.index_select(&idx, 0)?;
        let out = self.forward(&x, true)?;
        let loss = if self.classification {
            // Cross-entropy through a stable log-softmax: subtract each row's maximum first.
            let max = out.max_keepdim(D::Minus1)?.detach();
            let shifted = out.broadcast_sub(&max)?;
            let lse = shifted.exp()?.sum_keepdim(D::Minus1)?.log()?;
            let logp = shifted.broadcast_sub(&lse)?;
            logp.gather(&y.unsqueeze(1)?, 1)?.mean_all()?.neg()?
        } else {
            out.sub(&y)?.sqr()?.mean_all()?
        };
        let grads = loss.backward()?;
        self.steps += 1;
        let h = &self.hyper;
        let (bc1, bc2) = (
            1.0 - ADAM_BETA1.powi(self.steps),
            1.0 - ADAM_BETA2.powi(self.steps),
        );
        for layer in &mut self.layers {
            for (i, var) in [&layer.w, &layer.b].into_iter().enumerate() {
                let Some(g) = grads.get(var.as_tensor()) else {
                    return Err(TrainError::new("a parameter received no gradient"));
                };
                let g = g.flatten_all()?.to_vec1::<f32>()?;
                // The penalties apply to weights, not biases.
                let (l1, l2) = if i == 0 { (h.l1, h.l2) } else { (0.0, 0.0) };
                let s = &mut layer.state[i];
                match h.optimizer {
                    Optimizer::Sgd => sgd_update(s, &g, h.lr, h.momentum, l1, l2),
                    Optimizer::Adam => adam_update(s, &g, h.lr, bc1, bc2, l1, l2),
                }
                var.set(&Tensor::from_slice(&s.value, var.shape(), &Device::Cpu)?)?;
            }
        }
        Ok(())
    }
}

/// The gradient of the loss plus that of the penalties, l1·|w| + l2·w².
fn penalized(g: f32, w: f32, l1: f64, l2: f64) -> f64 {
    let sign = if w > 0.0 {
        1.0
    } else if w < 0.0 {
        -1.0
    } else {
        0.0
    };
    f64::from(g) + l1 * sign + 2.0 * l2 * f64::from(w)
}

/// SGD with momentum, PyTorch's form: `v = μ·v + g; w -= lr·v`.
fn sgd_update(s: &mut Moments, g: &[f32], lr: f64, momentum: f64, l1: f64, l2: f64) {
    for ((w, v), &g) in s.value.iter_mut().zip(&mut s.m).zip(g) {
        let g = penalized(g, *w, l1, l2);
        let vel = momentum * f64::from(*v) + g;
        *v = vel as f32;
        *w = (f64::from(*w) - lr * vel) as f32;
    }
}

/// Adam with bias correction: `bc1`, `bc2` are 1 − β₁ᵗ and 1 − β₂ᵗ.
fn adam_update(s: &mut Moments, g: &[f32], lr: f64, bc1: f64, bc2: f64, l1: f64, l2: f64) {
    let value = s.value.iter_mut().zip(&mut s.m).zip(&mut s.v);
    for (((w, m), v), &g) in value.zip(g) {
        let g = penalized(g, *w, l1, l2);
        let m1 = ADAM_BETA1 * f64::from(*m) + (1.0 - ADAM_BETA1) * g;
        let v1 = ADAM_BETA2 * f64::from(*v) + (1.0 - ADAM_BETA2) * g * g;
        *m = m1 as f32;
        *v = v1 as f32;
        *w = (f64::from(*w) - lr * (m1 / bc1) / ((v1 / bc2).sqrt() + ADAM_EPS)) as f32;
    }
}

/// `x` cut or zero-padded to `width` columns: a parameter-free shortcut between layers of
/// different widths.
fn shortcut(x: &Tensor, width: usize) -> Result<Tensor, candle_core::Error> {
    let cols = x.dim(1)?;
    match cols.cmp(&width) {
        std::cmp::Ordering::Equal => Ok(x.clone()),
        std::cmp::Ordering::Greater => x.narrow(1, 0, width),
        std::cmp::Ordering::Less => x.pad_with_zeros(1, 0, width - cols),
    }
}

fn activate(x: &Tensor, activation: Activation) -> Result<Tensor, candle_core::Error> {
    match activation {
        Activation::Relu => x.relu(),
        Activation::Tanh => x.tanh(),
        Activation::Gelu => x.gelu_erf(),
        Activation::Sigmoid => x.neg()?.exp()?.affine(1.0, 1.0)?.recip(),
    }
}

impl FoldModel for CandleFold {
    fn train_epoch(&mut self) -> Result<(), TrainError> {
        let mut order: Vec<u32> = (0..self.n_train as u32).collect();
        shuffle(&mut order, &mut self.rng);
        let batch = self.hyper.batch_size.clamp(1, self.n_train.max(1));
        for rows in order.chunks(batch) {
            self.step(rows)?;
        }
        Ok(())
    }

    fn predict_valid(&mut self) -> Result<Vec<f32>, TrainError> {
        let x = self.x_valid.clone();
        let out = self.forward(&x, false)?;
        let out = if self.classification {
            let max = out.max_keepdim(D::Minus1)?;
            let e = out.broadcast_sub(&max)?.exp()?;
            e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?
        } else {
            out
        };
        Ok(out.flatten_all()?.to_vec1::<f32>()?)
    }
}
