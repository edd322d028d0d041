//! The neural-network objective on CUDA GPUs, as its own plugin library: `mlp-gpu`.
//!
//! It is the `mlp` objective of `hyperplug-nn` — the same settings, space, cross-validation,
//! metrics, reports and attributes — with the networks trained on a GPU: matrix products in
//! cuBLAS, the rest in a dozen small kernels compiled with NVRTC when a device is first used.
//! It declares one GPU per trial (`Objective::resources`), so a study file needs no
//! `[resources]` table: the host lends each trial a device of its own and runs as many trials at
//! once as there are devices (within `parallelism`). It trains on the first device the host
//! assigns (`TrialContext::devices`), device 0 when none is assigned. A study file's
//! `[resources] gpus` still wins over the declaration.
//!
//! When no CUDA driver, NVRTC, cuBLAS or device can be found — on a machine without GPUs the host
//! says so and lends none — it trains on the CPU with candle instead, warns why once per device
//! in the host's log (`mlp-gpu: cannot use GPU 0: …; training on the CPU with candle`), and
//! records it in each trial's `backend` attribute (`candle-cpu (no CUDA: …)`); on a GPU the
//! attribute reads `cuda:0 (NVIDIA H200)`. A trial that was lent a device also records its id as
//! `device`.
//!
//! Its own name, rather than `mlp`: a study says which it means, and loading this library never
//! silently changes the numbers of a CPU study (GPU arithmetic differs in the last bits, and
//! dropout masks come from a counter-based hash rather than the CPU's generator).
//!
//! Building and running: cudarc is used with dynamic loading, so the library builds with no CUDA
//! toolkit and links no CUDA library; at run time it needs `libcuda.so` (the driver),
//! `libnvrtc.so` and `libcublas.so` (CUDA 13) on the loader's path — for CUDA from pip wheels,
//! the `site-packages/nvidia/cu13/lib` directory on `LD_LIBRARY_PATH`.
//!
//! Architecture invariant: the CUDA code depends on `hyperplug-nn` for everything but the
//! arithmetic (data, folds, metrics, reporting, pruning) and on nothing of the host; the trainer
//! is written against an `Ops` trait (`src/ops.rs`), which a host-memory implementation also satisfies,
//! so the tests check it against candle without a GPU.

mod cuda;
#[cfg(test)]
mod host_ops;
mod ops;
mod trainer;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use hyperplug_nn::{
    Backend, CandleCpu, FoldData, FoldModel, Hyperparams, MlpObjective, TrainError,
};
use hyperplug_sdk::{
    Capabilities, Error, Metric, Objective, ObjectiveFactory, Params, PluginInfo, Settings, Space,
    TrialContext, TrialOutcome, TrialResources, Value,
};

use crate::trainer::OpsBackend;

/// GPUs each trial of `mlp-gpu` wants: what it declares to the host.
pub const GPUS_PER_TRIAL: u32 = 1;

/// The `mlp-gpu` objective's factory. Its settings are those of `mlp` (see `hyperplug-nn`).
#[derive(Clone, Copy, Debug, Default)]
pub struct GpuMlp;

impl ObjectiveFactory for GpuMlp {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            "mlp-gpu",
            env!("CARGO_PKG_VERSION"),
            "the mlp objective trained on a CUDA GPU (one per trial, the first the host assigns), or on the CPU when none is found",
            Capabilities::default(),
        )
    }

    fn create(&self, settings: &Settings) -> Result<Box<dyn Objective>, Error> {
        Ok(Box::new(GpuObjective {
            inner: MlpObjective::from_settings(settings, "mlp-gpu")?,
        }))
    }
}

struct GpuObjective {
    inner: MlpObjective,
}

/// candle on the CPU, saying why the GPU was not used.
struct Fallback(String);

impl Backend for Fallback {
    fn describe(&self) -> String {
        format!("candle-cpu (no CUDA: {})", self.0)
    }

    fn model(
        &self,
        data: FoldData<'_>,
        hyper: &Hyperparams,
    ) -> Result<Box<dyn FoldModel>, TrainError> {
        CandleCpu.model(data, hyper)
    }

    fn parallel_folds(&self) -> bool {
        CandleCpu.parallel_folds()
    }
}

/// Logs the reason for falling back once per device, not once per trial.
fn warn_once(ordinal: u32, reason: &str) {
    static WARNED: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
    let mut warned = WARNED.lock().unwrap_or_else(|p| p.into_inner());
    if warned.insert(ordinal) {
        log::warn!("mlp-gpu: cannot use GPU {ordinal}: {reason}; training on the CPU with candle");
    }
}

impl Objective for GpuObjective {
    fn space(&self) -> Option<Space> {
        self.inner.space()
    }

    fn metrics(&self) -> Vec<Metric> {
        self.inner.metrics()
    }

    fn resources(&self) -> TrialResources {
        TrialResources::default().with_gpus(GPUS_PER_TRIAL)
    }

    fn evaluate(&self, params: &Params, ctx: &mut dyn TrialContext) -> TrialOutcome {
        let lent = ctx.devices().first().copied();
        let ordinal = lent.unwrap_or(0);
        let gpu = cuda::device(ordinal).and_then(|gpu| {
            let ops = gpu.ops().map_err(|e| e.to_string())?;
            Ok(OpsBackend::new(Arc::new(ops), gpu.describe()))
        });
        let mut evaluation = match gpu {
            Ok(backend) => self.inner.evaluate_on(&backend, params, ctx),
            Err(reason) => {
                warn_once(ordinal, &reason);
                self.inner.evaluate_on(&Fallback(reason), params, ctx)
            }
        }?;
        // Which device the host lent, even when the trial fell back to the CPU: the record shows
        // how trials were spread over the GPUs.
        if let Some(device) = lent {
            evaluation
                .attrs
                .insert("device".into(), Value::Int(i64::from(device)));
        }
        Ok(evaluation)
    }
}

hyperplug_sdk::export_plugin!(objectives: [GpuMlp]);

#[cfg(test)]
mod tests {
    use super::*;
    use hyperplug_testkit::RecordingContext;

    use crate::host_ops::sgemm_col_major;
    use crate::ops::{col_major_gemm, dropout_keeps};

    #[test]
    fn the_cublas_argument_mapping_computes_row_major_products() {
        // op(A) is 2×3, op(B) is 3×4: every transposition, checked against the plain product.
        let a_rm: Vec<f32> = (0..6).map(|v| v as f32 - 2.5).collect(); // 2×3
        let b_rm: Vec<f32> = (0..12).map(|v| (v * v) as f32 * 0.1).collect(); // 3×4
        let transpose = |x: &[f32], r: usize, c: usize| -> Vec<f32> {
            (0..c)
                .flat_map(|j| (0..r).map(move |i| x[i * c + j]))
                .collect()
        };
        let mut expect = vec![0f32; 8];
        for i in 0..2 {
            for j in 0..4 {
                expect[i * 4 + j] = (0..3).map(|l| a_rm[i * 3 + l] * b_rm[l * 4 + j]).sum();
            }
        }
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = if ta {
                transpose(&a_rm, 2, 3)
            } else {
                a_rm.clone()
            };
            let b = if tb {
                transpose(&b_rm, 3, 4)
            } else {
                b_rm.clone()
            };
            let g = col_major_gemm(ta, tb, 2, 4, 3);
            let mut c = vec![0f32; 8];
            sgemm_col_major(
                g.trans_first,
                g.trans_second,
                g.m,
                g.n,
                g.k,
                &b,
                g.ld_first,
                &a,
                g.ld_second,
                &mut c,
                g.ldc,
            );
            for (x, y) in c.iter().zip(&expect) {
                assert!((x - y).abs() < 1e-4, "ta={ta} tb={tb}: {c:?} vs {expect:?}");
            }
        }
    }

    #[test]
    fn dropout_masks_keep_their_share_and_repeat_for_the_same_call() {
        let kept = (0..100_000u64)
            .filter(|&i| dropout_keeps(42, 3, i, 0.7))
            .count();
        assert!((kept as f64 / 1e5 - 0.7).abs() < 0.01, "{kept}");
        let mask = |call| {
            (0..64u64)
                .map(|i| dropout_keeps(42, call, i, 0.5))
                .collect::<Vec<_>>()
        };
        assert_eq!(mask(3), mask(3));
        assert_ne!(mask(3), mask(4));
        assert!(!dropout_keeps(1, 1, 1, 0.0));
        assert!(dropout_keeps(1, 1, 1, 1.0));
    }

    #[test]
    fn every_kernel_the_code_loads_is_defined() {
        for name in cuda::KERNEL_NAMES {
            let signature = format!("extern \"C\" __global__ void {name}(");
            assert_eq!(cuda::KERNELS.matches(&signature).count(), 1, "{name}");
        }
        assert_eq!(
            cuda::KERNELS.matches("__global__").count(),
            cuda::KERNEL_NAMES.len()
        );
        assert_eq!(
            cuda::KERNELS.matches('{').count(),
            cuda::KERNELS.matches('}').count()
        );
    }

    #[test]
    fn without_cuda_it_trains_on_the_cpu_and_says_why() {
        let settings = Settings::default()
            .with("dataset", "iris")
            .with("folds", 3)
            .with("metrics", serde_json::json!(["accuracy", "params"]));
        let objective = GpuMlp.create(&settings).unwrap();
        assert_eq!(
            objective
                .metrics()
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>(),
            ["accuracy", "params"]
        );
        let params: Params = [
            ("lr", Value::Float(0.01)),
            ("layers", Value::Int(1)),
            ("units_1", Value::Int(16)),
            ("batch_size", Value::Int(16)),
            ("epochs", Value::Int(15)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut ctx = RecordingContext {
            devices: vec![3],
            ..RecordingContext::default()
        };
        let e = objective.evaluate(&params, &mut ctx).unwrap();
        assert_eq!(ctx.reports.len(), 15);
        let backend = e.attrs["backend"].to_string();
        let missing = cuda::missing_libraries();
        if missing.is_empty() {
            // A machine with CUDA: device 3 is used if it exists.
            assert!(
                backend.starts_with("cuda:3") || backend.starts_with("candle-cpu (no CUDA: "),
                "{backend}"
            );
        } else {
            assert_eq!(
                backend,
                format!(
                    "candle-cpu (no CUDA: {} not found (put the CUDA libraries' directory on LD_LIBRARY_PATH))",
                    missing.join(", ")
                )
            );
            assert!(matches!(cuda::device(0), Err(reason) if reason.contains(missing[0])));
        }
        assert!(e.values[0] > 0.85, "accuracy {}", e.values[0]);
        assert_eq!(e.values[1], 131.0);
        assert_eq!(e.attrs["device"], Value::Int(3));
        assert_eq!(GpuMlp.info().name, "mlp-gpu");
        assert_eq!(
            objective.resources().gpus,
            1,
            "it declares one GPU per trial"
        );
    }
}
