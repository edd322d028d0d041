//! [`Ops`] on a CUDA device through cudarc: cuBLAS for matrix products, small kernels compiled
//! at run time with NVRTC for the rest. Nothing here is linked at build time; the driver, NVRTC
//! and cuBLAS libraries are looked up when a trial first asks for a device, and their absence is
//! an error value, never a panic.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::cublas::sys::cublasOperation_t;
use cudarc::cublas::{CudaBlas, Gemm, GemmConfig};
use cudarc::driver::{
    CudaContext, CudaFunction, CudaSlice, CudaStream, LaunchConfig, PushKernelArg,
};
use hyperplug_nn::{Activation, TrainError};
use hyperplug_sdk::panic_message;

use crate::ops::{Ops, activation_code, col_major_gemm};

/// The kernels, compiled with NVRTC once per device. Every kernel takes its sizes as `int` and
/// guards its index, so a launch may round the grid up.
///
/// The dropout hash is the one of [`crate::ops::dropout_keeps`]: keep the two in step.
pub const KERNELS: &str = r#"
__device__ float act_f(float z, int act) {
    switch (act) {
    case 0: return z > 0.0f ? z : 0.0f;
    case 1: return tanhf(z);
    case 2: return 0.5f * z * (1.0f + erff(z * 0.70710678118654752f));
    default: return 1.0f / (1.0f + expf(-z));
    }
}

__device__ float act_grad(float z, int act) {
    switch (act) {
    case 0: return z > 0.0f ? 1.0f : 0.0f;
    case 1: { float t = tanhf(z); return 1.0f - t * t; }
    case 2: {
        float cdf = 0.5f * (1.0f + erff(z * 0.70710678118654752f));
        float pdf = 0.39894228040143268f * expf(-0.5f * z * z);
        return cdf + z * pdf;
    }
    default: { float s = 1.0f / (1.0f + expf(-z)); return s * (1.0f - s); }
    }
}

__device__ float penalized(float g, float w, float l1, float l2) {
    float sign = w > 0.0f ? 1.0f : (w < 0.0f ? -1.0f : 0.0f);
    return g + l1 * sign + 2.0f * l2 * w;
}

extern "C" __global__ void gather_rows(const float* src, int cols, const unsigned int* idx,
                                      int offset, int rows, float* dst) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * cols) {
        int r = i / cols, c = i % cols;
        dst[i] = src[(long long)idx[offset + r] * cols + c];
    }
}

extern "C" __global__ void gather_labels(const unsigned int* src, const unsigned int* idx,
                                        int offset, int rows, unsigned int* dst) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) dst[r] = src[idx[offset + r]];
}

extern "C" __global__ void bias_act(float* z, const float* bias, int rows, int cols, int act,
                                   float* h) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * cols) {
        float v = z[i] + bias[i % cols];
        z[i] = v;
        h[i] = act_f(v, act);
    }
}

extern "C" __global__ void bias_add(float* z, const float* bias, int rows, int cols) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows * cols) z[i] += bias[i % cols];
}

extern "C" __global__ void dropout(float* x, int n, float keep, unsigned long long seed,
                                  unsigned long long call) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        unsigned long long h = seed + call * 0x9E3779B97F4A7C15ULL
                             + (unsigned long long)i * 0xD1B54A32D192ED03ULL;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9ULL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBULL;
        h ^= h >> 31;
        float u = (float)(h >> 40) * (1.0f / 16777216.0f);
        x[i] = u < keep ? x[i] / keep : 0.0f;
    }
}

extern "C" __global__ void act_backward(float* d, const float* z, int n, int act) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) d[i] *= act_grad(z[i], act);
}

extern "C" __global__ void softmax_xent_grad(const float* logits, const unsigned int* labels,
                                            int rows, int cols, float* d) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) {
        const float* x = logits + (long long)r * cols;
        float m = x[0];
        for (int c = 1; c < cols; ++c) m = fmaxf(m, x[c]);
        float s = 0.0f;
        for (int c = 0; c < cols; ++c) s += expf(x[c] - m);
        for (int c = 0; c < cols; ++c) {
            float onehot = (unsigned int)c == labels[r] ? 1.0f : 0.0f;
            d[(long long)r * cols + c] = (expf(x[c] - m) / s - onehot) / (float)rows;
        }
    }
}

extern "C" __global__ void mse_grad(const float* pred, const float* y, int rows, float* d) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < rows) d[i] = 2.0f * (pred[i] - y[i]) / (float)rows;
}

extern "C" __global__ void col_sum(const float* x, int rows, int cols, float* out) {
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c < cols) {
        float s = 0.0f;
        for (int r = 0; r < rows; ++r) s += x[(long long)r * cols + c];
        out[c] = s;
    }
}

extern "C" __global__ void softmax_rows(float* x, int rows, int cols) {
    int r = blockIdx.x * blockDim.x + threadIdx.x;
    if (r < rows) {
        float* row = x + (long long)r * cols;
        float m = row[0];
        for (int c = 1; c < cols; ++c) m = fmaxf(m, row[c]);
        float s = 0.0f;
        for (int c = 0; c < cols; ++c) s += expf(row[c] - m);
        for (int c = 0; c < cols; ++c) row[c] = expf(row[c] - m) / s;
    }
}

extern "C" __global__ void sgd_step(float* w, const float* g, float* vel, int n, float lr,
                                   float momentum, float l1, float l2) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float gg = penalized(g[i], w[i], l1, l2);
        float v = momentum * vel[i] + gg;
        vel[i] = v;
        w[i] -= lr * v;
    }
}

extern "C" __global__ void adam_step(float* w, const float* g, float* m, float* v, int n,
                                    float lr, float b1, float b2, float eps, float bc1,
                                    float bc2, float l1, float l2) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float gg = penalized(g[i], w[i], l1, l2);
        float m1 = b1 * m[i] + (1.0f - b1) * gg;
        float v1 = b2 * v[i] + (1.0f - b2) * gg * gg;
        m[i] = m1;
        v[i] = v1;
        w[i] -= lr * (m1 / bc1) / (sqrtf(v1 / bc2) + eps);
    }
}
"#;

/// The kernel names in [`KERNELS`], in the order of [`Kernels`]' fields.
pub const KERNEL_NAMES: [&str; 12] = [
    "gather_rows",
    "gather_labels",
    "bias_act",
    "bias_add",
    "dropout",
    "act_backward",
    "softmax_xent_grad",
    "mse_grad",
    "col_sum",
    "softmax_rows",
    "sgd_step",
    "adam_step",
];

struct Kernels {
    gather_rows: CudaFunction,
    gather_labels: CudaFunction,
    bias_act: CudaFunction,
    bias_add: CudaFunction,
    dropout: CudaFunction,
    act_backward: CudaFunction,
    softmax_xent_grad: CudaFunction,
    mse_grad: CudaFunction,
    col_sum: CudaFunction,
    softmax_rows: CudaFunction,
    sgd_step: CudaFunction,
    adam_step: CudaFunction,
}

/// One device, opened: its context and compiled kernels, shared by every trial on it.
pub struct Gpu {
    ctx: Arc<CudaContext>,
    kernels: Kernels,
    name: String,
    ordinal: u32,
}

impl Gpu {
    /// `cuda:N (name)`, for results and logs.
    pub fn describe(&self) -> String {
        format!("cuda:{} ({})", self.ordinal, self.name)
    }

    /// A queue of its own for one trial: a new stream and a cuBLAS handle bound to it, so
    /// concurrent trials on the device neither share a handle nor wait on each other's work.
    pub fn ops(self: &Arc<Self>) -> Result<CudaOps, TrainError> {
        let stream = self
            .ctx
            .new_stream()
            .map_err(cuda("cannot create a stream"))?;
        let blas = CudaBlas::new(Arc::clone(&stream))
            .map_err(|e| TrainError::new(format!("cannot start cuBLAS: {e}")))?;
        Ok(CudaOps {
            gpu: Arc::clone(self),
            stream,
            blas,
        })
    }
}

fn cuda<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> TrainError {
    move |e| TrainError::new(format!("{what}: {e}"))
}

/// The CUDA libraries that cannot be loaded, named; empty when all three are there. cudarc
/// panics on first use of a library it cannot load, so this is asked first.
pub fn missing_libraries() -> Vec<&'static str> {
    let mut missing = Vec::new();
    // SAFETY: each check only tries to dlopen the library under its usual names.
    unsafe {
        if !cudarc::driver::sys::is_culib_present() {
            missing.push("the CUDA driver (libcuda.so)");
        }
        if !cudarc::nvrtc::sys::is_culib_present() {
            missing.push("NVRTC (libnvrtc.so)");
        }
        if !cudarc::cublas::sys::is_culib_present() {
            missing.push("cuBLAS (libcublas.so)");
        }
    }
    missing
}

/// Device `ordinal`, opened once per process and shared; later calls return the same device or
/// the same reason it could not be opened.
pub fn device(ordinal: u32) -> Result<Arc<Gpu>, String> {
    type Opened = BTreeMap<u32, Result<Arc<Gpu>, String>>;
    static OPENED: OnceLock<Mutex<Opened>> = OnceLock::new();
    let mut opened = OPENED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    opened
        .entry(ordinal)
        .or_insert_with(|| {
            // cudarc asserts and unwraps in places; a panic while opening is one more reason to
            // fall back, not a failed trial.
            catch_unwind(AssertUnwindSafe(|| open(ordinal)))
                .unwrap_or_else(|p| {
                    Err(format!(
                        "opening the device panicked: {}",
                        panic_message(&*p)
                    ))
                })
                .map(Arc::new)
        })
        .clone()
}

fn open(ordinal: u32) -> Result<Gpu, String> {
    let missing = missing_libraries();
    if !missing.is_empty() {
        return Err(format!(
            "{} not found (put the CUDA libraries' directory on LD_LIBRARY_PATH)",
            missing.join(", ")
        ));
    }
    let count = CudaContext::device_count().map_err(|e| format!("no usable CUDA driver: {e}"))?;
    if count <= 0 {
        return Err("the CUDA driver reports no device".into());
    }
    if i64::from(ordinal) >= i64::from(count) {
        return Err(format!(
            "device {ordinal} was assigned, but the driver sees {count} device(s)"
        ));
    }
    let ctx = CudaContext::new(ordinal as usize)
        .map_err(|e| format!("cannot open device {ordinal}: {e}"))?;
    let name = ctx.name().unwrap_or_else(|_| "unnamed GPU".into());
    let ptx = cudarc::nvrtc::compile_ptx(KERNELS)
        .map_err(|e| format!("NVRTC cannot compile the kernels: {e}"))?;
    let module = ctx
        .load_module(ptx)
        .map_err(|e| format!("cannot load the kernels: {e}"))?;
    let functions = KERNEL_NAMES
        .iter()
        .map(|name| {
            module
                .load_function(name)
                .map_err(|e| format!("kernel `{name}` is missing: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let Ok(
        [
            gather_rows,
            gather_labels,
            bias_act,
            bias_add,
            dropout,
            act_backward,
            softmax_xent_grad,
            mse_grad,
            col_sum,
            softmax_rows,
            sgd_step,
            adam_step,
        ],
    ) = <[CudaFunction; KERNEL_NAMES.len()]>::try_from(functions)
    else {
        return Err("the kernel list is inconsistent".into());
    };
    let kernels = Kernels {
        gather_rows,
        gather_labels,
        bias_act,
        bias_add,
        dropout,
        act_backward,
        softmax_xent_grad,
        mse_grad,
        col_sum,
        softmax_rows,
        sgd_step,
        adam_step,
    };
    Ok(Gpu {
        ctx,
        kernels,
        name,
        ordinal,
    })
}

/// One trial's queue on a device.
pub struct CudaOps {
    gpu: Arc<Gpu>,
    stream: Arc<CudaStream>,
    blas: CudaBlas,
}

/// Threads per block of the element-wise kernels.
const BLOCK: u32 = 256;

/// A launch covering `n` threads. Sizes were checked against `i32::MAX` when the fold was built.
fn grid(n: usize) -> LaunchConfig {
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    LaunchConfig {
        grid_dim: (n.div_ceil(BLOCK).max(1), 1, 1),
        block_dim: (BLOCK, 1, 1),
        shared_mem_bytes: 0,
    }
}

fn int(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn launched<T>(r: Result<T, cudarc::driver::DriverError>) -> Result<(), TrainError> {
    r.map(|_| ()).map_err(cuda("a kernel launch failed"))
}

impl Ops for CudaOps {
    type Buf = CudaSlice<f32>;
    type Idx = CudaSlice<u32>;

    fn upload(&self, data: &[f32]) -> Result<CudaSlice<f32>, TrainError> {
        // A zero-length allocation is refused by the driver; keep one element.
        if data.is_empty() {
            return self.zeros(1);
        }
        self.stream
            .clone_htod(data)
            .map_err(cuda("copy to the GPU failed"))
    }

    fn upload_idx(&self, data: &[u32]) -> Result<CudaSlice<u32>, TrainError> {
        if data.is_empty() {
            return self
                .stream
                .alloc_zeros::<u32>(1)
                .map_err(cuda("GPU allocation failed"));
        }
        self.stream
            .clone_htod(data)
            .map_err(cuda("copy to the GPU failed"))
    }

    fn write_idx(&self, dst: &mut CudaSlice<u32>, data: &[u32]) -> Result<(), TrainError> {
        if data.len() > dst.len() {
            return Err(TrainError::new("index buffer too small"));
        }
        self.stream
            .memcpy_htod(data, dst)
            .map_err(cuda("copy to the GPU failed"))
    }

    fn zeros(&self, n: usize) -> Result<CudaSlice<f32>, TrainError> {
        self.stream
            .alloc_zeros::<f32>(n.max(1))
            .map_err(cuda("GPU allocation failed"))
    }

    fn download(&self, src: &CudaSlice<f32>, n: usize) -> Result<Vec<f32>, TrainError> {
        let n = n.min(src.len());
        let mut out = self
            .stream
            .clone_dtoh(&src.slice(0..n))
            .map_err(cuda("copy from the GPU failed"))?;
        self.stream
            .synchronize()
            .map_err(cuda("the GPU reported an error"))?;
        out.truncate(n);
        Ok(out)
    }

    fn gemm(
        &self,
        ta: bool,
        tb: bool,
        m: usize,
        n: usize,
        k: usize,
        a: &CudaSlice<f32>,
        b: &CudaSlice<f32>,
        c: &mut CudaSlice<f32>,
    ) -> Result<(), TrainError> {
        let g = col_major_gemm(ta, tb, m, n, k);
        let op = |t: bool| {
            if t {
                cublasOperation_t::CUBLAS_OP_T
            } else {
                cublasOperation_t::CUBLAS_OP_N
            }
        };
        let cfg = GemmConfig {
            transa: op(g.trans_first),
            transb: op(g.trans_second),
            m: int(g.m),
            n: int(g.n),
            k: int(g.k),
            alpha: 1.0f32,
            lda: int(g.ld_first),
            ldb: int(g.ld_second),
            beta: 0.0f32,
            ldc: int(g.ldc),
        };
        // SAFETY: the trainer sizes every buffer for the largest product it asks for (rows ×
        // width of each layer), and the leading dimensions follow from the same sizes.
        unsafe { self.blas.gemm(cfg, b, a, c) }
            .map_err(|e| TrainError::new(format!("cuBLAS sgemm failed: {e}")))
    }

    fn gather_rows(
        &self,
        src: &CudaSlice<f32>,
        cols: usize,
        idx: &CudaSlice<u32>,
        offset: usize,
        rows: usize,
        dst: &mut CudaSlice<f32>,
    ) -> Result<(), TrainError> {
        let (cols_i, offset_i, rows_i) = (int(cols), int(offset), int(rows));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.gather_rows);
        l.arg(src)
            .arg(&cols_i)
            .arg(idx)
            .arg(&offset_i)
            .arg(&rows_i)
            .arg(dst);
        // SAFETY: the arguments match the kernel's signature; it reads `rows` indices from
        // `offset` (within the epoch's order) and writes `rows × cols` values.
        launched(unsafe { l.launch(grid(rows * cols)) })
    }

    fn gather_labels(
        &self,
        src: &CudaSlice<u32>,
        idx: &CudaSlice<u32>,
        offset: usize,
        rows: usize,
        dst: &mut CudaSlice<u32>,
    ) -> Result<(), TrainError> {
        let (offset_i, rows_i) = (int(offset), int(rows));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.gather_labels);
        l.arg(src).arg(idx).arg(&offset_i).arg(&rows_i).arg(dst);
        // SAFETY: as for gather_rows, with one value per row.
        launched(unsafe { l.launch(grid(rows)) })
    }

    fn bias_act(
        &self,
        z: &mut CudaSlice<f32>,
        bias: &CudaSlice<f32>,
        rows: usize,
        cols: usize,
        act: Activation,
        h: &mut CudaSlice<f32>,
    ) -> Result<(), TrainError> {
        let (rows_i, cols_i, act_i) = (int(rows), int(cols), activation_code(act));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.bias_act);
        l.arg(z)
            .arg(bias)
            .arg(&rows_i)
            .arg(&cols_i)
            .arg(&act_i)
            .arg(h);
        // SAFETY: z and h hold at least rows × cols values, bias cols.
        launched(unsafe { l.launch(grid(rows * cols)) })
    }

    fn bias_add(
        &self,
        z: &mut CudaSlice<f32>,
        bias: &CudaSlice<f32>,
        rows: usize,
        cols: usize,
    ) -> Result<(), TrainError> {
        let (rows_i, cols_i) = (int(rows), int(cols));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.bias_add);
        l.arg(z).arg(bias).arg(&rows_i).arg(&cols_i);
        // SAFETY: z holds at least rows × cols values, bias cols.
        launched(unsafe { l.launch(grid(rows * cols)) })
    }

    fn dropout(
        &self,
        x: &mut CudaSlice<f32>,
        n: usize,
        keep: f32,
        seed: u64,
        call: u64,
    ) -> Result<(), TrainError> {
        let n_i = int(n);
        let mut l = self.stream.launch_builder(&self.gpu.kernels.dropout);
        l.arg(x).arg(&n_i).arg(&keep).arg(&seed).arg(&call);
        // SAFETY: x holds at least n values.
        launched(unsafe { l.launch(grid(n)) })
    }

    fn act_backward(
        &self,
        d: &mut CudaSlice<f32>,
        z: &CudaSlice<f32>,
        n: usize,
        act: Activation,
    ) -> Result<(), TrainError> {
        let (n_i, act_i) = (int(n), activation_code(act));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.act_backward);
        l.arg(d).arg(z).arg(&n_i).arg(&act_i);
        // SAFETY: d and z hold at least n values.
        launched(unsafe { l.launch(grid(n)) })
    }

    fn softmax_xent_grad(
        &self,
        logits: &CudaSlice<f32>,
        labels: &CudaSlice<u32>,
        rows: usize,
        cols: usize,
        d: &mut CudaSlice<f32>,
    ) -> Result<(), TrainError> {
        let (rows_i, cols_i) = (int(rows), int(cols));
        let mut l = self
            .stream
            .launch_builder(&self.gpu.kernels.softmax_xent_grad);
        l.arg(logits).arg(labels).arg(&rows_i).arg(&cols_i).arg(d);
        // SAFETY: logits and d hold rows × cols values, labels rows, each below cols.
        launched(unsafe { l.launch(grid(rows)) })
    }

    fn mse_grad(
        &self,
        pred: &CudaSlice<f32>,
        y: &CudaSlice<f32>,
        rows: usize,
        d: &mut CudaSlice<f32>,
    ) -> Result<(), TrainError> {
        let rows_i = int(rows);
        let mut l = self.stream.launch_builder(&self.gpu.kernels.mse_grad);
        l.arg(pred).arg(y).arg(&rows_i).arg(d);
        // SAFETY: each buffer holds at least rows values.
        launched(unsafe { l.launch(grid(rows)) })
    }

    fn col_sum(
        &self,
        x: &CudaSlice<f32>,
        rows: usize,
        cols: usize,
        out: &mut CudaSlice<f32>,
    ) -> Result<(), TrainError> {
        let (rows_i, cols_i) = (int(rows), int(cols));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.col_sum);
        l.arg(x).arg(&rows_i).arg(&cols_i).arg(out);
        // SAFETY: x holds rows × cols values, out cols.
        launched(unsafe { l.launch(grid(cols)) })
    }

    fn softmax_rows(
        &self,
        x: &mut CudaSlice<f32>,
        rows: usize,
        cols: usize,
    ) -> Result<(), TrainError> {
        let (rows_i, cols_i) = (int(rows), int(cols));
        let mut l = self.stream.launch_builder(&self.gpu.kernels.softmax_rows);
        l.arg(x).arg(&rows_i).arg(&cols_i);
        // SAFETY: x holds rows × cols values.
        launched(unsafe { l.launch(grid(rows)) })
    }

    fn sgd(
        &self,
        w: &mut CudaSlice<f32>,
        g: &CudaSlice<f32>,
        vel: &mut CudaSlice<f32>,
        n: usize,
        lr: f32,
        momentum: f32,
        l1: f32,
        l2: f32,
    ) -> Result<(), TrainError> {
        let n_i = int(n);
        let mut l = self.stream.launch_builder(&self.gpu.kernels.sgd_step);
        l.arg(w)
            .arg(g)
            .arg(vel)
            .arg(&n_i)
            .arg(&lr)
            .arg(&momentum)
            .arg(&l1)
            .arg(&l2);
        // SAFETY: w, g and vel hold n values each.
        launched(unsafe { l.launch(grid(n)) })
    }

    fn adam(
        &self,
        w: &mut CudaSlice<f32>,
        g: &CudaSlice<f32>,
        m: &mut CudaSlice<f32>,
        v: &mut CudaSlice<f32>,
        n: usize,
        lr: f32,
        bc1: f32,
        bc2: f32,
        l1: f32,
        l2: f32,
    ) -> Result<(), TrainError> {
        let n_i = int(n);
        let (b1, b2, eps) = (
            hyperplug_nn::ADAM_BETA1 as f32,
            hyperplug_nn::ADAM_BETA2 as f32,
            hyperplug_nn::ADAM_EPS as f32,
        );
        let mut l = self.stream.launch_builder(&self.gpu.kernels.adam_step);
        l.arg(w)
            .arg(g)
            .arg(m)
            .arg(v)
            .arg(&n_i)
            .arg(&lr)
            .arg(&b1)
            .arg(&b2)
            .arg(&eps)
            .arg(&bc1)
            .arg(&bc2)
            .arg(&l1)
            .arg(&l2);
        // SAFETY: w, g, m and v hold n values each.
        launched(unsafe { l.launch(grid(n)) })
    }
}
