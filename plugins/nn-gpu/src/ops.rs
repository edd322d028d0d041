//! The device operations an MLP needs, as a trait: the trainer is written once against it, CUDA
//! implements it (`cuda.rs`), and a host-memory reference implementation (`host_ops.rs`, tests
//! only) checks the trainer against candle on machines without a GPU.
//!
//! Matrices are row-major `f32`. Sizes are passed explicitly: buffers may be longer than the
//! rows in use (activation buffers are sized for the larger of a batch and the validation set).

use hyperplug_nn::{Activation, TrainError};

/// Operations on buffers in one device's memory, queued in order.
pub trait Ops: Send + Sync {
    /// A buffer of `f32`.
    type Buf: Send;
    /// A buffer of `u32` (row indices, class labels).
    type Idx: Send;

    /// A new buffer holding `data`.
    fn upload(&self, data: &[f32]) -> Result<Self::Buf, TrainError>;
    /// A new index buffer holding `data`.
    fn upload_idx(&self, data: &[u32]) -> Result<Self::Idx, TrainError>;
    /// Overwrites the start of `dst` with `data`.
    fn write_idx(&self, dst: &mut Self::Idx, data: &[u32]) -> Result<(), TrainError>;
    /// A new buffer of `n` zeros.
    fn zeros(&self, n: usize) -> Result<Self::Buf, TrainError>;
    /// The first `n` values of `src`, once every queued operation has finished.
    fn download(&self, src: &Self::Buf, n: usize) -> Result<Vec<f32>, TrainError>;

    /// `c[m×n] = op(a)·op(b)`, where `op(a)` is `m×k` (`a` is stored `k×m` when `ta`) and
    /// `op(b)` is `k×n` (`b` stored `n×k` when `tb`).
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        a: &Self::Buf,
        b: &Self::Buf,
        c: &mut Self::Buf,
    ) -> Result<(), TrainError>;

    /// `dst[r] = src[idx[offset + r]]` for `rows` rows of `cols` values.
    fn gather_rows(
        &self,
        src: &Self::Buf,
        cols: usize,
        idx: &Self::Idx,
        offset: usize,
        rows: usize,
        dst: &mut Self::Buf,
    ) -> Result<(), TrainError>;
    /// `dst[r] = src[idx[offset + r]]` for `rows` labels.
    fn gather_labels(
        &self,
        src: &Self::Idx,
        idx: &Self::Idx,
        offset: usize,
        rows: usize,
        dst: &mut Self::Idx,
    ) -> Result<(), TrainError>;

    /// `z += bias` (broadcast over `rows`), then `h = act(z)`.
    #[allow(clippy::too_many_arguments)]
    fn bias_act(
        &self,
        z: &mut Self::Buf,
        bias: &Self::Buf,
        rows: usize,
        cols: usize,
        act: Activation,
        h: &mut Self::Buf,
    ) -> Result<(), TrainError>;
    /// `z += bias` (broadcast over `rows`).
    fn bias_add(
        &self,
        z: &mut Self::Buf,
        bias: &Self::Buf,
        rows: usize,
        cols: usize,
    ) -> Result<(), TrainError>;
    /// Inverted dropout of the first `n` values: each is kept with probability `keep` and then
    /// divided by `keep`, or zeroed. The mask is [`dropout_keeps`]`(seed, call, i, keep)`, so
    /// calling again with the same `seed` and `call` applies the same mask (the backward pass).
    fn dropout(
        &self,
        x: &mut Self::Buf,
        n: usize,
        keep: f32,
        seed: u64,
        call: u64,
    ) -> Result<(), TrainError>;
    /// `d *= act'(z)` for the first `n` values.
    fn act_backward(
        &self,
        d: &mut Self::Buf,
        z: &Self::Buf,
        n: usize,
        act: Activation,
    ) -> Result<(), TrainError>;
    /// The gradient of the mean cross-entropy over `rows` rows of logits:
    /// `d = (softmax(logits) − onehot(label)) / rows`.
    fn softmax_xent_grad(
        &self,
        logits: &Self::Buf,
        labels: &Self::Idx,
        rows: usize,
        cols: usize,
        d: &mut Self::Buf,
    ) -> Result<(), TrainError>;
    /// The gradient of the mean squared error over `rows` single outputs: `d = 2(pred − y) / rows`.
    fn mse_grad(
        &self,
        pred: &Self::Buf,
        y: &Self::Buf,
        rows: usize,
        d: &mut Self::Buf,
    ) -> Result<(), TrainError>;
    /// `out[c] = Σ_r x[r][c]`.
    fn col_sum(
        &self,
        x: &Self::Buf,
        rows: usize,
        cols: usize,
        out: &mut Self::Buf,
    ) -> Result<(), TrainError>;
    /// Each of `rows` rows of `x` replaced by its softmax.
    fn softmax_rows(&self, x: &mut Self::Buf, rows: usize, cols: usize) -> Result<(), TrainError>;
    /// SGD with momentum on `n` values, with the gradient of `l1·|w| + l2·w²` added.
    #[allow(clippy::too_many_arguments)]
    fn sgd(
        &self,
        w: &mut Self::Buf,
        g: &Self::Buf,
        vel: &mut Self::Buf,
        n: usize,
        lr: f32,
        momentum: f32,
        l1: f32,
        l2: f32,
    ) -> Result<(), TrainError>;
    /// Adam on `n` values (`bc1`, `bc2` are 1 − β₁ᵗ, 1 − β₂ᵗ), with the penalties' gradient added.
    #[allow(clippy::too_many_arguments)]
    fn adam(
        &self,
        w: &mut Self::Buf,
        g: &Self::Buf,
        m: &mut Self::Buf,
        v: &mut Self::Buf,
        n: usize,
        lr: f32,
        bc1: f32,
        bc2: f32,
        l1: f32,
        l2: f32,
    ) -> Result<(), TrainError>;
}

/// The arguments of a column-major BLAS `sgemm` that computes the row-major product
/// `C[m×n] = op(A)·op(B)`: a row-major matrix is its transpose in column-major order, so BLAS is
/// asked for `Cᵀ = op(B)ᵀ·op(A)ᵀ`, with B's buffer first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColMajorGemm {
    /// Whether BLAS transposes its first operand (the row-major B).
    pub trans_first: bool,
    /// Whether BLAS transposes its second operand (the row-major A).
    pub trans_second: bool,
    /// BLAS's m: rows of Cᵀ.
    pub m: usize,
    /// BLAS's n: columns of Cᵀ.
    pub n: usize,
    /// BLAS's k.
    pub k: usize,
    /// Leading dimension of the first operand (B's buffer).
    pub ld_first: usize,
    /// Leading dimension of the second operand (A's buffer).
    pub ld_second: usize,
    /// Leading dimension of C.
    pub ldc: usize,
}

/// See [`ColMajorGemm`]; `ta`, `tb`, `m`, `n`, `k` as in [`Ops::gemm`].
pub fn col_major_gemm(ta: bool, tb: bool, m: usize, n: usize, k: usize) -> ColMajorGemm {
    ColMajorGemm {
        trans_first: tb,
        trans_second: ta,
        m: n,
        n: m,
        k,
        // B is stored k×n (ld n), or n×k when transposed (ld k); likewise A.
        ld_first: if tb { k } else { n },
        ld_second: if ta { m } else { k },
        ldc: n,
    }
}

/// Whether element `i` survives dropout call `call` of a run seeded `seed`: a SplitMix64 hash of
/// the three, its top 24 bits as a uniform number in [0, 1), below `keep`. The CUDA kernel
/// computes the same hash; this is its reference, which the host-memory operations of the tests
/// use.
#[cfg_attr(not(test), allow(dead_code))]
pub fn dropout_keeps(seed: u64, call: u64, i: u64, keep: f32) -> bool {
    let mut x = seed
        .wrapping_add(call.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_add(i.wrapping_mul(0xD1B5_4A32_D192_ED03));
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    let u = (x >> 40) as f32 * (1.0 / 16_777_216.0);
    u < keep
}

/// The activation's number in the kernels.
pub fn activation_code(act: Activation) -> i32 {
    match act {
        Activation::Relu => 0,
        Activation::Tanh => 1,
        Activation::Gelu => 2,
        Activation::Sigmoid => 3,
    }
}
