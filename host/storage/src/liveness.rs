//! Who a worker is, and whether a worker on this machine is still alive.
//!
//! Heartbeats catch every lost worker, after the grace period. A worker that ran on this very
//! machine can be judged at once: if its process is gone, its trials are dead, so a study
//! resumed after a crash or a kill does not wait out the grace period for them. Processes are
//! identified by boot id, PID namespace and PID, so a container's or another boot's process of
//! the same number is never mistaken for one here; elsewhere than Linux only heartbeats count.

use std::path::Path;

/// The worker this process is.
#[derive(Clone, Debug)]
pub(crate) struct Worker {
    /// `host:pid`, for people.
    pub name: String,
    /// `boot:pidns:pid`, to judge liveness on this machine; `None` where that is not possible.
    pub key: Option<String>,
}

impl Worker {
    pub fn this_process() -> Self {
        let pid = std::process::id();
        let host = read_trimmed("/proc/sys/kernel/hostname")
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".into());
        Worker {
            name: format!("{host}:{pid}"),
            key: machine().map(|m| format!("{m}{pid}")),
        }
    }

    /// The prefix that the keys of this machine's (and PID namespace's) workers share.
    pub fn machine_prefix(&self) -> Option<String> {
        machine()
    }

    /// Whether the worker with `key` ran on this machine and its process is gone.
    pub fn is_dead_here(&self, key: &str) -> bool {
        let (Some(prefix), Some(own)) = (machine(), &self.key) else {
            return false;
        };
        if key == own {
            return false;
        }
        match key.strip_prefix(&prefix).map(str::parse::<u32>) {
            Some(Ok(pid)) => !Path::new(&format!("/proc/{pid}")).exists(),
            _ => false,
        }
    }
}

/// `boot:pidns:` for this boot and PID namespace, on Linux.
fn machine() -> Option<String> {
    let boot = read_trimmed("/proc/sys/kernel/random/boot_id")?;
    let ns = std::fs::read_link("/proc/self/ns/pid").ok()?;
    Some(format!("{boot}:{}:", ns.display()))
}

fn read_trimmed(path: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gone_process_on_this_machine_is_dead_and_others_are_not_judged() {
        let me = Worker::this_process();
        assert!(me.name.ends_with(&format!(":{}", std::process::id())));
        let Some(prefix) = me.machine_prefix() else {
            return; // not Linux: only heartbeats count, as documented
        };
        let own = me.key.clone().unwrap();
        assert!(!me.is_dead_here(&own), "this process is alive");
        // A process that has exited: a child we waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(me.is_dead_here(&format!("{prefix}{pid}")));
        assert!(
            !me.is_dead_here("another-boot:pid:[1]:1"),
            "not this machine"
        );
        assert!(!me.is_dead_here(&format!("{prefix}1")), "init lives");
    }
}
