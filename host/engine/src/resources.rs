//! What the machine offers trials: CPU cores and GPUs, detected or declared, how many GPUs each
//! trial gets (the study file's `[resources]` where the user wrote it, otherwise what the
//! objective declares), and how many trials can run at once without oversubscribing either.

use std::process::Command;

use anyhow::{Result, bail};
use hyperplug_core::{RunOptions, TrialResources};

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

    /// How to run a study that wants `parallelism` trials at once, each needing `needs` (the
    /// study file's `[resources]`), with an objective called `objective` that declares
    /// `declared`: the concurrency the cores and devices allow, and the devices to lend.
    /// `devices` in `needs` overrides the detected GPUs. Refuses, before any trial, GPUs the
    /// machine cannot give (see [`Machine::gpus_per_trial`]).
    pub fn plan(
        &self,
        parallelism: usize,
        needs: &Resources,
        declared: TrialResources,
        objective: &str,
    ) -> Result<(usize, RunOptions)> {
        let gpus = self.gpus_per_trial(needs, declared, objective)?;
        if let Some(warning) = &gpus.warning {
            log::warn!("{warning}");
        }
        let by_cpu = (self.cpus / needs.cpus.max(1)).max(1);
        let mut workers = parallelism.min(by_cpu);
        if workers < parallelism {
            log::info!(
                "running {workers} trials at once, not {parallelism}: the machine has {} cores and each trial needs {}",
                self.cpus,
                needs.cpus
            );
        }
        if let Some(fit) = gpus.devices.len().checked_div(gpus.per_trial)
            && fit < workers
        {
            log::info!(
                "running {fit} trials at once, not {workers}: each trial takes {} of the {} GPUs {:?}",
                gpus.per_trial,
                gpus.devices.len(),
                gpus.devices
            );
            workers = fit;
        }
        let options = RunOptions {
            devices: gpus.devices,
            devices_per_trial: gpus.per_trial,
        };
        Ok((workers, options))
    }

    /// The GPUs each trial gets. The study file's `gpus`, where the user wrote it, wins; without
    /// it, what the objective declares. A machine short of what the user wrote is refused; an
    /// objective declaring GPUs on a machine that has none runs without a device (it falls back,
    /// typically to the CPU), with a warning that names it. An objective declaring more GPUs than
    /// the machine has, but some, is refused: the user says in the study file what to give it.
    pub fn gpus_per_trial(
        &self,
        needs: &Resources,
        declared: TrialResources,
        objective: &str,
    ) -> Result<GpuPlan> {
        let (devices, source) = match &needs.devices {
            Some(listed) => (listed.clone(), "[resources] `devices` lists"),
            None => (self.gpus.clone(), "this machine has"),
        };
        let have = match devices.len() {
            0 => format!("{source} none"),
            n => format!("{source} only {n} ({devices:?})"),
        };
        let plan = |per_trial: usize, devices: Vec<u32>| GpuPlan {
            per_trial,
            devices,
            warning: None,
        };
        match needs.gpus {
            Some(0) => Ok(plan(0, Vec::new())),
            Some(n) if n > devices.len() => bail!(
                "[resources] `gpus = {n}` asks for {} per trial but {have}; lower `gpus` (`gpus = 0` runs without a device, or remove it to take what objective `{objective}` declares), or make GPUs available (CUDA_VISIBLE_DEVICES, or `devices` in [resources])",
                count(n)
            ),
            Some(n) => Ok(plan(n, devices)),
            None if declared.gpus == 0 => Ok(plan(0, Vec::new())),
            None if devices.is_empty() => Ok(GpuPlan {
                warning: Some(format!(
                    "`{objective}` asks for {} per trial but {have}; its trials run without a device",
                    count(declared.gpus as usize)
                )),
                ..plan(0, Vec::new())
            }),
            None if declared.gpus as usize > devices.len() => bail!(
                "`{objective}` asks for {} per trial but {have}; say in [resources] how many each trial gets (`gpus = {}`, or `gpus = 0` to run without a device)",
                count(declared.gpus as usize),
                devices.len()
            ),
            None => Ok(plan(declared.gpus as usize, devices)),
        }
    }
}

/// How many GPUs each trial is lent, from which devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuPlan {
    /// GPUs per trial; 0 lends none.
    pub per_trial: usize,
    /// The device ids to lend from; empty when trials get none.
    pub devices: Vec<u32>,
    /// What the user should hear about the decision, when it is not what was asked for.
    pub warning: Option<String>,
}

fn count(gpus: usize) -> String {
    match gpus {
        1 => "1 GPU".into(),
        n => format!("{n} GPUs"),
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

    fn needs(cpus: usize, gpus: Option<usize>, devices: Option<Vec<u32>>) -> Resources {
        Resources {
            cpus,
            gpus,
            devices,
        }
    }

    #[test]
    fn the_plan_never_oversubscribes() {
        let m = Machine {
            cpus: 8,
            gpus: vec![0, 1],
        };
        let none = TrialResources::default();
        let (workers, options) = m.plan(16, &needs(2, Some(0), None), none, "x").unwrap();
        assert_eq!(workers, 4);
        assert!(options.devices.is_empty());
        let (workers, options) = m.plan(16, &needs(1, Some(1), None), none, "x").unwrap();
        assert_eq!(
            (workers, options.devices, options.devices_per_trial),
            (2, vec![0, 1], 1),
            "two devices, one each: two trials at once"
        );
        let plan = m.plan(2, &needs(1, Some(1), Some(vec![5])), none, "x");
        assert_eq!(plan.unwrap().1.devices, vec![5]);
        let (workers, _) = m.plan(4, &needs(64, None, None), none, "x").unwrap();
        assert_eq!(workers, 1, "one trial always runs");
    }

    #[test]
    fn the_study_files_gpus_win_and_the_objectives_declaration_fills_in() {
        let two = Machine {
            cpus: 8,
            gpus: vec![0, 1],
        };
        let bare = Machine {
            cpus: 8,
            gpus: Vec::new(),
        };
        let one = TrialResources::default().with_gpus(1);
        let plan = |m: &Machine, gpus: Option<usize>, declared: TrialResources| {
            m.gpus_per_trial(&needs(1, gpus, None), declared, "mlp-gpu")
        };

        // Explicit wins, either way.
        let p = plan(&two, Some(0), one).unwrap();
        assert_eq!((p.per_trial, p.devices, p.warning), (0, vec![], None));
        let p = plan(&two, Some(2), one).unwrap();
        assert_eq!((p.per_trial, p.devices, p.warning), (2, vec![0, 1], None));

        // Declared, when the file is silent: lent like an explicit `gpus = 1`.
        let p = plan(&two, None, one).unwrap();
        assert_eq!((p.per_trial, p.devices, p.warning), (1, vec![0, 1], None));
        assert_eq!(
            two.plan(8, &needs(1, None, None), one, "mlp-gpu").unwrap(),
            (
                2,
                RunOptions {
                    devices: vec![0, 1],
                    devices_per_trial: 1
                }
            )
        );
        let p = plan(&two, None, TrialResources::default()).unwrap();
        assert_eq!((p.per_trial, p.devices), (0, vec![]));

        // Declared but the machine has none: no device, and a warning naming the objective.
        let p = plan(&bare, None, one).unwrap();
        assert_eq!((p.per_trial, p.devices), (0, vec![]));
        assert_eq!(
            p.warning.as_deref(),
            Some(
                "`mlp-gpu` asks for 1 GPU per trial but this machine has none; its trials run without a device"
            )
        );
        let (workers, options) = bare.plan(3, &needs(1, None, None), one, "mlp-gpu").unwrap();
        assert_eq!((workers, options), (3, RunOptions::default()));
        let p = two
            .gpus_per_trial(&needs(1, None, Some(vec![])), one, "mlp-gpu")
            .unwrap();
        assert_eq!(p.per_trial, 0);
        assert!(
            p.warning
                .is_some_and(|w| w.contains("[resources] `devices` lists none")),
        );

        // Explicit but the machine has none, or too few: refused, saying what to change.
        let e = plan(&bare, Some(1), one).unwrap_err().to_string();
        assert!(
            e.contains("`gpus = 1` asks for 1 GPU per trial but this machine has none")
                && e.contains("lower `gpus`"),
            "{e}"
        );
        let e = plan(&two, Some(3), TrialResources::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains("this machine has only 2 ([0, 1])"), "{e}");

        // Declared more than there are, but some: the user must say what to give it.
        let e = plan(&two, None, TrialResources::default().with_gpus(4))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`mlp-gpu` asks for 4 GPUs per trial but this machine has only 2")
                && e.contains("`gpus = 2`"),
            "{e}"
        );
    }
}
