//! [`Ops`] in host memory, written as the CUDA kernels are (same formulas, `f32`), with the
//! matrix product going through the same column-major argument mapping as cuBLAS. The tests run
//! the GPU trainer on it and compare it with candle: everything of the CUDA path but the kernels'
//! execution is checked on machines without a GPU.

// The loops index as the kernels do (thread i handles element i), to read alike.
#![allow(clippy::needless_range_loop)]

use hyperplug_nn::{ADAM_BETA1, ADAM_BETA2, ADAM_EPS, Activation, TrainError};

use crate::ops::{Ops, col_major_gemm, dropout_keeps};

pub struct HostOps;

/// Column-major `C = op(A)·op(B)`, as BLAS defines `sgemm` with α = 1, β = 0.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_col_major(
    ta: bool,
    tb: bool,
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    let at = |i: usize, l: usize| if ta { a[l + i * lda] } else { a[i + l * lda] };
    let bt = |l: usize, j: usize| if tb { b[j + l * ldb] } else { b[l + j * ldb] };
    for j in 0..n {
        for i in 0..m {
            c[i + j * ldc] = (0..k).map(|l| at(i, l) * bt(l, j)).sum();
        }
    }
}

fn act_f(z: f32, act: Activation) -> f32 {
    match act {
        Activation::Relu => z.max(0.0),
        Activation::Tanh => z.tanh(),
        Activation::Gelu => 0.5 * z * (1.0 + erf(z * std::f32::consts::FRAC_1_SQRT_2)),
        Activation::Sigmoid => 1.0 / (1.0 + (-z).exp()),
    }
}

fn act_grad(z: f32, act: Activation) -> f32 {
    match act {
        Activation::Relu => {
            if z > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Tanh => 1.0 - z.tanh().powi(2),
        Activation::Gelu => {
            let cdf = 0.5 * (1.0 + erf(z * std::f32::consts::FRAC_1_SQRT_2));
            let pdf = 0.398_942_3 * (-0.5 * z * z).exp();
            cdf + z * pdf
        }
        Activation::Sigmoid => {
            let s = 1.0 / (1.0 + (-z).exp());
            s * (1.0 - s)
        }
    }
}

/// erf by Abramowitz and Stegun 7.1.26 (error below 1.5e-7), standing in for CUDA's `erff`.
fn erf(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_7 + t * (1.421_413_8 + t * (-1.453_152_1 + t * 1.061_405_4))));
    let y = 1.0 - poly * (-x * x).exp();
    y.copysign(x)
}

fn penalized(g: f32, w: f32, l1: f32, l2: f32) -> f32 {
    let sign = if w > 0.0 {
        1.0
    } else if w < 0.0 {
        -1.0
    } else {
        0.0
    };
    g + l1 * sign + 2.0 * l2 * w
}

impl Ops for HostOps {
    type Buf = Vec<f32>;
    type Idx = Vec<u32>;

    fn upload(&self, data: &[f32]) -> Result<Vec<f32>, TrainError> {
        Ok(data.to_vec())
    }
    fn upload_idx(&self, data: &[u32]) -> Result<Vec<u32>, TrainError> {
        Ok(data.to_vec())
    }
    fn write_idx(&self, dst: &mut Vec<u32>, data: &[u32]) -> Result<(), TrainError> {
        dst[..data.len()].copy_from_slice(data);
        Ok(())
    }
    fn zeros(&self, n: usize) -> Result<Vec<f32>, TrainError> {
        Ok(vec![0.0; n])
    }
    fn download(&self, src: &Vec<f32>, n: usize) -> Result<Vec<f32>, TrainError> {
        Ok(src[..n].to_vec())
    }
    fn gemm(
        &self,
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        a: &Vec<f32>,
        b: &Vec<f32>,
        c: &mut Vec<f32>,
    ) -> Result<(), TrainError> {
        let g = col_major_gemm(ta, tb, m, n, k);
        sgemm_col_major(
            g.trans_first,
            g.trans_second,
            g.m,
            g.n,
            g.k,
            b,
            g.ld_first,
            a,
            g.ld_second,
            c,
            g.ldc,
        );
        Ok(())
    }
    fn gather_rows(
        &self,
        src: &Vec<f32>,
        cols: usize,
        idx: &Vec<u32>,
        offset: usize,
        rows: usize,
        dst: &mut Vec<f32>,
    ) -> Result<(), TrainError> {
        for i in 0..rows * cols {
            let (r, c) = (i / cols, i % cols);
            dst[i] = src[idx[offset + r] as usize * cols + c];
        }
        Ok(())
    }
    fn gather_labels(
        &self,
        src: &Vec<u32>,
        idx: &Vec<u32>,
        offset: usize,
        rows: usize,
        dst: &mut Vec<u32>,
    ) -> Result<(), TrainError> {
        for r in 0..rows {
            dst[r] = src[idx[offset + r] as usize];
        }
        Ok(())
    }
    fn bias_act(
        &self,
        z: &mut Vec<f32>,
        bias: &Vec<f32>,
        rows: usize,
        cols: usize,
        act: Activation,
        h: &mut Vec<f32>,
    ) -> Result<(), TrainError> {
        for i in 0..rows * cols {
            z[i] += bias[i % cols];
            h[i] = act_f(z[i], act);
        }
        Ok(())
    }
    fn bias_add(
        &self,
        z: &mut Vec<f32>,
        bias: &Vec<f32>,
        rows: usize,
        cols: usize,
    ) -> Result<(), TrainError> {
        for i in 0..rows * cols {
            z[i] += bias[i % cols];
        }
        Ok(())
    }
    fn dropout(
        &self,
        x: &mut Vec<f32>,
        n: usize,
        keep: f32,
        seed: u64,
        call: u64,
    ) -> Result<(), TrainError> {
        for (i, v) in x[..n].iter_mut().enumerate() {
            *v = if dropout_keeps(seed, call, i as u64, keep) {
                *v / keep
            } else {
                0.0
            };
        }
        Ok(())
    }
    fn act_backward(
        &self,
        d: &mut Vec<f32>,
        z: &Vec<f32>,
        n: usize,
        act: Activation,
    ) -> Result<(), TrainError> {
        for i in 0..n {
            d[i] *= act_grad(z[i], act);
        }
        Ok(())
    }
    fn softmax_xent_grad(
        &self,
        logits: &Vec<f32>,
        labels: &Vec<u32>,
        rows: usize,
        cols: usize,
        d: &mut Vec<f32>,
    ) -> Result<(), TrainError> {
        for r in 0..rows {
            let x = &logits[r * cols..(r + 1) * cols];
            let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let s: f32 = x.iter().map(|v| (v - m).exp()).sum();
            for c in 0..cols {
                let onehot = if c as u32 == labels[r] { 1.0 } else { 0.0 };
                d[r * cols + c] = ((x[c] - m).exp() / s - onehot) / rows as f32;
            }
        }
        Ok(())
    }
    fn mse_grad(
        &self,
        pred: &Vec<f32>,
        y: &Vec<f32>,
        rows: usize,
        d: &mut Vec<f32>,
    ) -> Result<(), TrainError> {
        for i in 0..rows {
            d[i] = 2.0 * (pred[i] - y[i]) / rows as f32;
        }
        Ok(())
    }
    fn col_sum(
        &self,
        x: &Vec<f32>,
        rows: usize,
        cols: usize,
        out: &mut Vec<f32>,
    ) -> Result<(), TrainError> {
        for c in 0..cols {
            out[c] = (0..rows).map(|r| x[r * cols + c]).sum();
        }
        Ok(())
    }
    fn softmax_rows(&self, x: &mut Vec<f32>, rows: usize, cols: usize) -> Result<(), TrainError> {
        for row in x[..rows * cols].chunks_exact_mut(cols) {
            let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let s: f32 = row.iter().map(|v| (v - m).exp()).sum();
            for v in row {
                *v = (*v - m).exp() / s;
            }
        }
        Ok(())
    }
    fn sgd(
        &self,
        w: &mut Vec<f32>,
        g: &Vec<f32>,
        vel: &mut Vec<f32>,
        n: usize,
        lr: f32,
        momentum: f32,
        l1: f32,
        l2: f32,
    ) -> Result<(), TrainError> {
        for i in 0..n {
            let gg = penalized(g[i], w[i], l1, l2);
            vel[i] = momentum * vel[i] + gg;
            w[i] -= lr * vel[i];
        }
        Ok(())
    }
    fn adam(
        &self,
        w: &mut Vec<f32>,
        g: &Vec<f32>,
        m: &mut Vec<f32>,
        v: &mut Vec<f32>,
        n: usize,
        lr: f32,
        bc1: f32,
        bc2: f32,
        l1: f32,
        l2: f32,
    ) -> Result<(), TrainError> {
        let (b1, b2, eps) = (ADAM_BETA1 as f32, ADAM_BETA2 as f32, ADAM_EPS as f32);
        for i in 0..n {
            let gg = penalized(g[i], w[i], l1, l2);
            m[i] = b1 * m[i] + (1.0 - b1) * gg;
            v[i] = b2 * v[i] + (1.0 - b2) * gg * gg;
            w[i] -= lr * (m[i] / bc1) / ((v[i] / bc2).sqrt() + eps);
        }
        Ok(())
    }
}
