//! The trials lent over HTTP, with the expiry the engine's leases lack: a client that goes
//! silent cannot tell its trial, so a lease no request touched for the lease timeout is told
//! failed. A lease is a fixed-space trial (its parameters all came with the ask) or a
//! define-by-run one (its client suggests them one by one); both expire alike.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hyperplug_engine::lease::OpenLease;
use hyperplug_engine::{Error, Lease, Params, SharedStudy, Trial, TrialError, TrialOutcome, Value};

/// A lent trial of either kind.
pub(crate) enum Lent {
    /// All its parameters came with the ask.
    Fixed(Lease),
    /// Its client suggests its parameters (define-by-run).
    Open(OpenLease),
}

impl Lent {
    /// The parameters the client has: all of them, or those suggested so far.
    pub fn params(&self) -> Params {
        match self {
            Lent::Fixed(l) => l.params().clone(),
            Lent::Open(l) => l.params().cloned().unwrap_or_default(),
        }
    }

    /// Records the intermediate value at `step` (one per objective in a study with several; a
    /// single one otherwise) and asks the study's pruner whether to stop now.
    pub fn report_values(&mut self, step: u64, values: &[f64]) -> Result<bool, Error> {
        match self {
            Lent::Fixed(l) => l.report_values(step, values),
            Lent::Open(l) => {
                l.report_values(step, values)?;
                l.should_prune()
            }
        }
    }

    /// Keeps a user attribute with the trial.
    pub fn set_user_attr(&mut self, key: String, value: Value) -> Result<(), Error> {
        match self {
            Lent::Fixed(l) => {
                l.set_user_attr(key, value);
                Ok(())
            }
            Lent::Open(l) => l.set_user_attr(key, value),
        }
    }

    /// The define-by-run lease, if this is one.
    pub fn open(&mut self) -> Option<&mut OpenLease> {
        match self {
            Lent::Open(l) => Some(l),
            Lent::Fixed(_) => None,
        }
    }

    /// Ends the lease with `outcome`; the trial as stored.
    pub fn tell(self, outcome: TrialOutcome) -> Result<Trial, Error> {
        match self {
            Lent::Fixed(l) => l.tell(outcome),
            Lent::Open(l) => l.tell(outcome),
        }
    }
}

/// One lent trial; `None` once told.
pub(crate) struct Held {
    lease: Mutex<Option<Lent>>,
    /// The study it belongs to (an [`OpenLease`] does not say).
    pub study: SharedStudy,
    touched: Mutex<Instant>,
}

impl Held {
    pub fn lease(&self) -> MutexGuard<'_, Option<Lent>> {
        lock(&self.lease)
    }
}

/// Lent trials by study name and trial number.
#[derive(Default)]
pub(crate) struct Leases {
    held: Mutex<HashMap<(String, u64), Arc<Held>>>,
}

impl Leases {
    pub fn insert(&self, study: &str, number: u64, shared: SharedStudy, lease: Lent) {
        let key = (study.to_owned(), number);
        let held = Arc::new(Held {
            lease: Mutex::new(Some(lease)),
            study: shared,
            touched: Mutex::new(Instant::now()),
        });
        lock(&self.held).insert(key, held);
    }

    /// The lease of trial `number`, touched (its expiry starts again).
    pub fn touch(&self, study: &str, number: u64) -> Option<Arc<Held>> {
        let held = lock(&self.held).get(&(study.to_owned(), number)).cloned()?;
        *lock(&held.touched) = Instant::now();
        Some(held)
    }

    /// Takes the lease of trial `number` out, to tell it.
    pub fn take(&self, study: &str, number: u64) -> Option<Arc<Held>> {
        lock(&self.held).remove(&(study.to_owned(), number))
    }

    /// Tells failed every lease untouched for `timeout`; returns how many.
    pub fn expire(&self, timeout: Duration) -> usize {
        let expired: Vec<((String, u64), Arc<Held>)> = {
            let mut held = lock(&self.held);
            let keys: Vec<(String, u64)> = held
                .iter()
                .filter(|(_, h)| lock(&h.touched).elapsed() >= timeout)
                .map(|(k, _)| k.clone())
                .collect();
            keys.into_iter()
                .filter_map(|k| held.remove(&k).map(|h| (k, h)))
                .collect()
        };
        let why = format!(
            "the lease expired: no request about this trial for {}s",
            timeout.as_secs_f64()
        );
        for ((study, number), held) in &expired {
            fail(study, *number, held, &why);
        }
        expired.len()
    }

    /// Tells failed every lease still open.
    pub fn fail_all(&self, why: &str) {
        let all: Vec<((String, u64), Arc<Held>)> = lock(&self.held).drain().collect();
        for ((study, number), held) in &all {
            fail(study, *number, held, why);
        }
    }
}

fn fail(study: &str, number: u64, held: &Held, why: &str) {
    if let Some(lease) = held.lease().take()
        && let Err(e) = lease.tell(Err(TrialError::Failed(why.to_owned())))
    {
        log::warn!("trial {number} of study `{study}` could not be failed ({why}): {e}");
    }
}

/// Expires leases for as long as the server runs, checking a few times per timeout.
pub(crate) async fn expire_forever(state: Arc<crate::State>) {
    let timeout = state.config.lease_timeout;
    let every = (timeout / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
    loop {
        tokio::time::sleep(every).await;
        let s = state.clone();
        let expired = tokio::task::spawn_blocking(move || s.leases.expire(timeout)).await;
        if let Ok(n @ 1..) = expired {
            log::info!("{n} lease(s) expired and were told failed");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
