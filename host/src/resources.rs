//! What the machine offers trials: CPU cores and GPUs, detected or declared, and how many trials
//! can run at once without oversubscribing either.

use std::process::Command;

use hyperplug_core::RunOptions;

use crate::config::Resources;

/// The machine as the study sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// CPU cores available to this process.
    pub cpus: usize,
    /// GPU ids trials may use.
    pub gpus: Vec<u32>,
}

impl Machine {
    /// Detects the machine: the cores this process may use, and the GPUs that
    /// `CUDA_VISIBLE_DEVICES` lists or, when it is unset, that `nvidia-smi` reports.
    pub fn detect() -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let gpus = match std::env::var("CUDA_VISIBLE_DEVICES") {
            Ok(list) => visible_devices(&list),
            Err(_) => nvidia_smi_gpus(),
        };
        Machine { cpus, gpus }
    }

    /// How to run a study that wants `parallelism` trials at once, each needing `needs`: the
    /// concurrency the cores allow, and the devices to lend. `devices` in `needs` overrides the
    /// detected GPUs.
    pub fn plan(&self, parallelism: usize, needs: &Resources) -> (usize, RunOptions) {
        let by_cpu = (self.cpus / needs.cpus.max(1)).max(1);
        let devices = needs.devices.clone().unwrap_or_else(|| self.gpus.clone());
        let workers = parallelism.min(by_cpu);
        if workers < parallelism {
            log::info!(
                "running {workers} trials at once, not {parallelism}: the machine has {} cores and each trial needs {}",
                self.cpus,
                needs.cpus
            );
        }
        let options = RunOptions {
            devices: if needs.gpus > 0 { devices } else { Vec::new() },
            devices_per_trial: needs.gpus,
        };
        (workers, options)
    }
}

/// The devices in a `CUDA_VISIBLE_DEVICES` value. Numeric ids are kept; UUIDs or MIG names
/// count as devices numbered from 0, since CUDA renumbers visible devices that way.
fn visible_devices(list: &str) -> Vec<u32> {
    let items: Vec<&str> = list
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let ids: Option<Vec<u32>> = items.iter().map(|s| s.parse().ok()).collect();
    match ids {
        // A negative or invalid id hides every device from CUDA.
        _ if items.iter().any(|s| s.starts_with('-')) => Vec::new(),
        Some(ids) => ids,
        None => (0..items.len() as u32).collect(),
    }
}

fn nvidia_smi_gpus() -> Vec<u32> {
    let Ok(out) = Command::new("nvidia-smi")
        .args(["--query-gpu=index", "--format=csv,noheader"])
        .output()
    else {
        return Vec::new();
    };
    if !out.status.success() {
        return Vec::new();
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_devices_are_read_like_cuda_reads_them() {
        assert_eq!(visible_devices("0,2"), vec![0, 2]);
        assert_eq!(visible_devices(" 3 "), vec![3]);
        assert_eq!(visible_devices(""), Vec::<u32>::new());
        assert_eq!(visible_devices("-1"), Vec::<u32>::new());
        assert_eq!(visible_devices("GPU-aa,GPU-bb"), vec![0, 1]);
    }

    #[test]
    fn the_plan_never_oversubscribes() {
        let m = Machine {
            cpus: 8,
            gpus: vec![0, 1],
        };
        let needs = Resources {
            cpus: 2,
            gpus: 0,
            devices: None,
        };
        let (workers, options) = m.plan(16, &needs);
        assert_eq!(workers, 4);
        assert!(options.devices.is_empty());
        let needs = Resources {
            cpus: 1,
            gpus: 1,
            devices: None,
        };
        let (workers, options) = m.plan(16, &needs);
        assert_eq!(
            (workers, options.devices, options.devices_per_trial),
            (8, vec![0, 1], 1)
        );
        let needs = Resources {
            cpus: 1,
            gpus: 1,
            devices: Some(vec![5]),
        };
        assert_eq!(m.plan(2, &needs).1.devices, vec![5]);
        let needs = Resources {
            cpus: 64,
            gpus: 0,
            devices: None,
        };
        assert_eq!(m.plan(4, &needs).0, 1, "one trial always runs");
    }
}
