//! Where a study's trials live. The [`Study`](crate::Study) keeps a mirror of its store and
//! writes through it, so the same study code runs in memory, on a local database, or across
//! many processes and machines sharing one database. Backends other than memory live outside
//! core (they do IO); this module holds the contract and the in-memory backend.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::space::{Domain, Space};
use crate::study::{Direction, now_ms};
use crate::trial::{Trial, TrialState};
use crate::value::Params;

/// A study's key in its store.
pub type StudyId = i64;

/// What a stored study is: enough to tell whether a later run is compatible with it, and the
/// rules every worker must share.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StudyRecord {
    /// Its name, unique in the store.
    pub name: String,
    /// The space searched.
    pub space: Space,
    /// One direction per objective.
    pub directions: Vec<Direction>,
    /// How often a trial whose worker stopped beating is queued again.
    pub retries: u32,
    /// How long a running trial may go without a heartbeat before it is failed.
    pub grace_s: f64,
    /// What a worker needs to join the study beyond space and directions (the host keeps its
    /// strategy, objective and budget here). Stored as given; not compared.
    #[serde(default)]
    pub definition: serde_json::Value,
    /// Whether the space is learned from the objective's own calls (define-by-run): it grows as
    /// new parameters appear, so a run may know more or fewer parameters than the store.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub define_by_run: bool,
    /// The seed every worker of the study runs with. `None` in records stored before the store
    /// kept it (the host kept it in its `definition` then), and in an opener's record that
    /// leaves the stored seed as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// In an opener's record: whether `seed` is only proposed (nobody chose it), so that a
    /// stored seed wins over it (see [`Storage::open`]). Never stored.
    #[serde(skip)]
    pub seed_proposed: bool,
}

impl StudyRecord {
    /// A record with no retries and a 60-second grace period.
    pub fn new(name: impl Into<String>, space: Space, directions: Vec<Direction>) -> Self {
        StudyRecord {
            name: name.into(),
            space,
            directions,
            retries: 0,
            grace_s: 60.0,
            definition: serde_json::Value::Null,
            define_by_run: false,
            seed: None,
            seed_proposed: false,
        }
    }

    /// Why a run described by `other` cannot continue this stored study, if it cannot. A domain
    /// that only grows (a wider range on the same scale and step, more choices) keeps every
    /// earlier trial valid and is accepted. Added or removed parameters, any other change of a
    /// domain or condition, and changed directions change what earlier trials mean; the message
    /// lists each difference. Of two define-by-run records only the directions and the domains
    /// of the parameters both know are compared: their spaces are what each run has seen so far.
    pub fn incompatibility(&self, other: &StudyRecord) -> Option<String> {
        let mut diffs = Vec::new();
        let learned = self.define_by_run && other.define_by_run;
        if self.directions != other.directions {
            diffs.push(format!(
                "directions were {:?}, now {:?}",
                self.directions, other.directions
            ));
        }
        for p in self.space.params() {
            match other.space.get(&p.name) {
                None if learned => {}
                None => diffs.push(format!("parameter `{}` was removed", p.name)),
                Some(q) if !widens(&p.domain, &q.domain) => diffs.push(format!(
                    "parameter `{}` was {}, now {}",
                    p.name,
                    p.domain.describe(),
                    q.domain.describe()
                )),
                Some(q) if q.condition != p.condition => {
                    diffs.push(format!("the condition of `{}` changed", p.name));
                }
                Some(_) => {}
            }
        }
        for q in other.space.params() {
            if !learned && self.space.get(&q.name).is_none() {
                diffs.push(format!("parameter `{}` was added", q.name));
            }
        }
        if diffs.is_empty() {
            None
        } else {
            Some(format!(
                "study `{}` exists with a different definition: {}; use a new study name, or delete the old study",
                self.name,
                diffs.join("; ")
            ))
        }
    }
}

impl StudyRecord {
    /// The record a store keeps when a compatible run opens this stored one with `other`:
    /// `other`, except that a define-by-run space keeps the stored parameters `other` has not
    /// seen yet (another worker's code suggested them), so the stored space only grows, and
    /// that the stored seed stays unless `other` chose one (a seed `other` only proposes is
    /// kept only where none is stored).
    pub fn updated_by(&self, other: &StudyRecord) -> StudyRecord {
        let mut record = other.clone();
        record.seed_proposed = false;
        record.seed = match other.seed {
            Some(chosen) if !other.seed_proposed => Some(chosen),
            proposed => self.seed.or(proposed),
        };
        if self.define_by_run && other.define_by_run {
            let mut params = other.space.params().to_vec();
            params.extend(
                self.space
                    .params()
                    .iter()
                    .filter(|p| other.space.get(&p.name).is_none())
                    .cloned(),
            );
            if let Ok(space) = Space::new(params) {
                record.space = space;
            }
        }
        record
    }
}

/// Whether `new` holds every value of `old`, so that trials drawn from `old` stay inside it.
fn widens(old: &Domain, new: &Domain) -> bool {
    match (old, new) {
        (
            Domain::Float {
                low,
                high,
                log,
                step,
            },
            Domain::Float {
                low: l2,
                high: h2,
                log: g2,
                step: s2,
            },
        ) => {
            let on_grid = match (step, s2) {
                (None, None) => true,
                // Same step, and the old grid's points are on the new one.
                (Some(a), Some(b)) if a == b => {
                    (((low - l2) / b).round() * b - (low - l2)).abs() < 1e-9 * b
                }
                _ => false,
            };
            log == g2 && l2 <= low && h2 >= high && on_grid
        }
        (
            Domain::Int {
                low,
                high,
                log,
                step,
            },
            Domain::Int {
                low: l2,
                high: h2,
                log: g2,
                step: s2,
            },
        ) => log == g2 && step == s2 && l2 <= low && h2 >= high && (low - l2) % step == 0,
        (Domain::Categorical { choices }, Domain::Categorical { choices: c2 }) => {
            choices.iter().all(|c| c2.contains(c))
        }
        _ => false,
    }
}

/// A store of studies and their trials. Every method is one atomic step: implementations must
/// leave the store consistent whatever happens between two calls, and never give a trial number
/// twice.
pub trait Storage: Send + Sync {
    /// Opens the study called `record.name`, creating it if needed, in one atomic step, and
    /// returns its key and its record as stored now. An existing study whose space or
    /// directions differ is refused with a message that says what changed; the retries, grace
    /// and definition of `record` replace the stored ones ([`StudyRecord::updated_by`]).
    ///
    /// The seed: a new study stores `record.seed`. An existing one keeps its stored seed unless
    /// `record` chose one (`seed` given and not [`StudyRecord::seed_proposed`]), which replaces
    /// it; a proposed seed is stored only where none is. So openers that propose seeds of their
    /// own and race to create one study all get back, and run with, the first creator's seed.
    fn open(&self, record: &StudyRecord) -> Result<(StudyId, StudyRecord), Error>;

    /// Starts the oldest queued trial (enqueued by a user, or a retry), unless the study already
    /// counts `limit` trials. The budget counts every trial except retries: a retry of a trial
    /// lost with its worker replaces a trial already counted, so it starts whatever the limit.
    fn claim_queued(&self, study: StudyId, limit: Option<u64>) -> Result<Option<Trial>, Error>;

    /// Reserves the next trial number, unless the study already counts `limit` trials: the
    /// trial starts running with no parameters yet, in the same atomic step that checks the
    /// limit, so the number the strategy is then asked with is the one stored. Give it its
    /// parameters with [`Storage::set_params`], or fail it with [`Storage::finish`], or
    /// withdraw it with [`Storage::release`]. A reserved trial whose worker is lost before it
    /// has parameters is failed like any lost trial, and never retried.
    fn reserve(&self, study: StudyId, limit: Option<u64>) -> Result<Option<Trial>, Error>;

    /// Gives a reserved trial its parameters. A trial that is not running, or already has
    /// parameters, is refused with [`Error::NotRunning`].
    fn set_params(&self, study: StudyId, number: u64, params: &Params) -> Result<(), Error>;

    /// Withdraws a reserved trial that got no parameters (the strategy had nothing left to
    /// suggest): it is removed and no longer counts toward the limit; its number is not given
    /// again, so numbers may have gaps.
    fn release(&self, study: StudyId, number: u64) -> Result<(), Error>;

    /// How many trials count toward the limit: every trial started, except retries and
    /// released numbers.
    fn counted(&self, study: StudyId) -> Result<u64, Error>;

    /// Records an intermediate value of a running trial.
    fn report(&self, study: StudyId, number: u64, step: u64, value: f64) -> Result<(), Error>;

    /// Records the intermediate values of a running trial at `step`, one per objective (a study
    /// with several objectives); the trial keeps them with
    /// [`Trial::push_intermediate`](crate::Trial::push_intermediate). A store that keeps one
    /// value per step (the default) refuses them, naming itself.
    fn report_values(
        &self,
        study: StudyId,
        number: u64,
        step: u64,
        values: &[f64],
    ) -> Result<(), Error> {
        let _ = (study, number, step, values);
        Err(Error::Storage(
            "this store keeps one intermediate value per step; it cannot record one per objective"
                .into(),
        ))
    }

    /// Stores a finished trial. A trial that is no longer running (finished by another worker,
    /// or failed for a lost heartbeat) is refused with [`Error::NotRunning`].
    fn finish(&self, study: StudyId, trial: &Trial) -> Result<(), Error>;

    /// The trials finished after position `cursor` of the study's finish order, in that order,
    /// and the new cursor. Finish order never changes once read.
    fn finished_since(&self, study: StudyId, cursor: u64) -> Result<(Vec<Trial>, u64), Error>;

    /// The running trials of the study.
    fn running(&self, study: StudyId) -> Result<Vec<Trial>, Error>;

    /// Queues `params` to run before the strategy's own suggestions.
    fn enqueue(&self, study: StudyId, params: &Params) -> Result<(), Error>;

    /// Marks trials as alive. Stores that cannot outlive the process return `None` from
    /// [`Storage::heartbeat_interval`] and may ignore this.
    fn heartbeat(&self, study: StudyId, numbers: &[u64]) -> Result<(), Error>;

    /// How often running trials should beat, if the store tracks liveness.
    fn heartbeat_interval(&self) -> Option<Duration> {
        None
    }

    /// Fails running trials whose heartbeat is older than the study's grace period, queueing
    /// those with retries left again with the same parameters. Returns the failed trials.
    fn reap(&self, study: StudyId) -> Result<Vec<Trial>, Error> {
        let _ = study;
        Ok(Vec::new())
    }
}

/// A store that lives as long as the process: the default for throwaway studies and tests.
#[derive(Default)]
pub struct MemoryStorage {
    studies: Mutex<Vec<MemoryStudy>>,
}

struct MemoryStudy {
    record: StudyRecord,
    /// Every trial, by number; `None` for a released number.
    trials: Vec<Option<Trial>>,
    /// Trials that count toward the limit: every trial but the released ones (a store that
    /// lives in one process loses no worker, so it has no retries).
    counted: u64,
    /// Numbers of finished trials, in finish order.
    order: Vec<u64>,
    /// Numbers of running trials, so listing them does not scan every trial.
    running: Vec<u64>,
    queue: VecDeque<Params>,
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStorage::default()
    }

    fn with<T>(
        &self,
        study: StudyId,
        f: impl FnOnce(&mut MemoryStudy) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let mut studies = self.studies.lock().unwrap_or_else(|p| p.into_inner());
        let s = usize::try_from(study)
            .ok()
            .and_then(|i| studies.get_mut(i))
            .ok_or_else(|| Error::Storage(format!("no study with id {study} in memory")))?;
        f(s)
    }
}

impl MemoryStudy {
    fn room(&self, limit: Option<u64>) -> bool {
        limit.is_none_or(|n| self.counted < n)
    }

    fn push(&mut self, params: Params) -> Trial {
        let trial = Trial::running(self.trials.len() as u64, params, now_ms());
        self.running.push(trial.number);
        self.trials.push(Some(trial.clone()));
        self.counted += 1;
        trial
    }

    fn trial(&self, number: u64) -> Option<&Trial> {
        self.trials.get(number as usize).and_then(Option::as_ref)
    }
}

impl Storage for MemoryStorage {
    fn open(&self, record: &StudyRecord) -> Result<(StudyId, StudyRecord), Error> {
        let mut studies = self.studies.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(i) = studies.iter().position(|s| s.record.name == record.name) {
            if let Some(why) = studies[i].record.incompatibility(record) {
                return Err(Error::Other(why));
            }
            studies[i].record = studies[i].record.updated_by(record);
            return Ok((i as StudyId, studies[i].record.clone()));
        }
        let record = StudyRecord {
            seed_proposed: false,
            ..record.clone()
        };
        studies.push(MemoryStudy {
            record: record.clone(),
            trials: Vec::new(),
            counted: 0,
            order: Vec::new(),
            running: Vec::new(),
            queue: VecDeque::new(),
        });
        Ok((studies.len() as StudyId - 1, record))
    }

    fn claim_queued(&self, study: StudyId, limit: Option<u64>) -> Result<Option<Trial>, Error> {
        self.with(study, |s| {
            if !s.room(limit) {
                return Ok(None);
            }
            Ok(s.queue.pop_front().map(|params| s.push(params)))
        })
    }

    fn reserve(&self, study: StudyId, limit: Option<u64>) -> Result<Option<Trial>, Error> {
        self.with(study, |s| Ok(s.room(limit).then(|| s.push(Params::new()))))
    }

    fn set_params(&self, study: StudyId, number: u64, params: &Params) -> Result<(), Error> {
        self.with(study, |s| {
            let t = reserved_mut(s, number)?;
            t.params = params.clone();
            Ok(())
        })
    }

    fn release(&self, study: StudyId, number: u64) -> Result<(), Error> {
        self.with(study, |s| {
            reserved_mut(s, number)?;
            s.trials[number as usize] = None;
            s.running.retain(|&n| n != number);
            s.counted -= 1;
            Ok(())
        })
    }

    fn counted(&self, study: StudyId) -> Result<u64, Error> {
        self.with(study, |s| Ok(s.counted))
    }

    fn report(&self, study: StudyId, number: u64, step: u64, value: f64) -> Result<(), Error> {
        self.with(study, |s| {
            let t = running_mut(s, number)?;
            t.intermediate.push((step, value));
            Ok(())
        })
    }

    fn report_values(
        &self,
        study: StudyId,
        number: u64,
        step: u64,
        values: &[f64],
    ) -> Result<(), Error> {
        self.with(study, |s| {
            running_mut(s, number)?.push_intermediate(step, values);
            Ok(())
        })
    }

    fn finish(&self, study: StudyId, trial: &Trial) -> Result<(), Error> {
        self.with(study, |s| {
            let t = running_mut(s, trial.number)?;
            *t = trial.clone();
            s.order.push(trial.number);
            s.running.retain(|&n| n != trial.number);
            Ok(())
        })
    }

    fn finished_since(&self, study: StudyId, cursor: u64) -> Result<(Vec<Trial>, u64), Error> {
        self.with(study, |s| {
            let from = (cursor as usize).min(s.order.len());
            let new = s.order[from..]
                .iter()
                .filter_map(|&n| s.trial(n).cloned())
                .collect();
            Ok((new, s.order.len() as u64))
        })
    }

    fn running(&self, study: StudyId) -> Result<Vec<Trial>, Error> {
        self.with(study, |s| {
            Ok(s.running
                .iter()
                .filter_map(|&n| s.trial(n).cloned())
                .collect())
        })
    }

    fn enqueue(&self, study: StudyId, params: &Params) -> Result<(), Error> {
        self.with(study, |s| {
            s.queue.push_back(params.clone());
            Ok(())
        })
    }

    fn heartbeat(&self, _study: StudyId, _numbers: &[u64]) -> Result<(), Error> {
        Ok(())
    }
}

fn running_mut(s: &mut MemoryStudy, number: u64) -> Result<&mut Trial, Error> {
    s.trials
        .get_mut(number as usize)
        .and_then(Option::as_mut)
        .filter(|t| t.state == TrialState::Running)
        .ok_or(Error::NotRunning(number))
}

/// A running trial that has no parameters yet.
fn reserved_mut(s: &mut MemoryStudy, number: u64) -> Result<&mut Trial, Error> {
    running_mut(s, number).and_then(|t| {
        if t.params.is_empty() {
            Ok(t)
        } else {
            Err(Error::NotRunning(number))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::space::{Domain, Param};

    fn record(domain: Domain) -> StudyRecord {
        let space = Space::new(vec![Param::new("x", domain)]).unwrap();
        StudyRecord::new("s", space, vec![Direction::Minimize])
    }

    #[test]
    fn domains_that_only_grow_are_compatible() {
        for (old, new, ok) in [
            (Domain::float(0.0, 1.0), Domain::float(-1.0, 2.0), true),
            (Domain::float(0.0, 1.0), Domain::float(0.5, 1.0), false),
            (
                Domain::float(1e-3, 1.0).log(),
                Domain::float(1e-4, 1.0).log(),
                true,
            ),
            (
                Domain::float(1e-3, 1.0).log(),
                Domain::float(1e-4, 1.0),
                false,
            ),
            (
                Domain::float(0.0, 1.0).step(0.25),
                Domain::float(-0.5, 1.0).step(0.25),
                true,
            ),
            (
                Domain::float(0.0, 1.0).step(0.25),
                Domain::float(-0.1, 1.0).step(0.1),
                false,
            ),
            (
                Domain::int(2, 8).step(2.0),
                Domain::int(0, 10).step(2.0),
                true,
            ),
            (
                Domain::int(2, 8).step(2.0),
                Domain::int(1, 9).step(2.0),
                false,
            ),
            (
                Domain::choice(["a", "b"]),
                Domain::choice(["c", "b", "a"]),
                true,
            ),
            (Domain::choice(["a", "b"]), Domain::choice(["a"]), false),
            (Domain::int(0, 3), Domain::float(0.0, 3.0), false),
        ] {
            assert_eq!(
                widens(&old, &new),
                ok,
                "{} -> {}",
                old.describe(),
                new.describe()
            );
        }
    }

    #[test]
    fn a_proposed_seed_loses_to_the_stored_one_and_a_chosen_one_replaces_it() {
        let store = MemoryStorage::new();
        let seeded = |seed: Option<u64>, proposed| StudyRecord {
            seed,
            seed_proposed: proposed,
            ..record(Domain::float(0.0, 1.0))
        };
        let opened = |r: &StudyRecord| store.open(r).unwrap().1.seed;
        assert_eq!(opened(&seeded(Some(1), true)), Some(1), "a new study");
        assert_eq!(
            opened(&seeded(Some(2), true)),
            Some(1),
            "first creator wins"
        );
        assert_eq!(opened(&seeded(Some(3), false)), Some(3), "a chosen seed");
        assert_eq!(opened(&seeded(None, false)), Some(3), "no seed: kept");
        assert!(!store.open(&seeded(Some(4), true)).unwrap().1.seed_proposed);
        // A record stored before records kept a seed has none: the first proposal is kept.
        let old: StudyRecord = serde_json::from_str(
            r#"{"name":"old","space":[],"directions":["minimize"],"retries":0,"grace_s":60.0}"#,
        )
        .unwrap();
        assert_eq!(old.seed, None);
        let old_store = MemoryStorage::new();
        old_store.open(&old).unwrap();
        let proposal = StudyRecord {
            seed: Some(5),
            seed_proposed: true,
            ..old.clone()
        };
        assert_eq!(old_store.open(&proposal).unwrap().1.seed, Some(5));
        assert_eq!(
            old_store
                .open(&StudyRecord {
                    seed: Some(6),
                    ..proposal
                })
                .unwrap()
                .1
                .seed,
            Some(5)
        );
    }

    #[test]
    fn a_changed_definition_is_refused_saying_what_changed() {
        let store = MemoryStorage::new();
        let id = store.open(&record(Domain::float(0.0, 1.0))).unwrap().0;
        assert_eq!(store.open(&record(Domain::float(0.0, 1.0))).unwrap().0, id);
        assert_eq!(
            store.open(&record(Domain::float(-1.0, 1.0))).unwrap().0,
            id,
            "wider is fine"
        );
        let err = store
            .open(&record(Domain::float(0.0, 0.5)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("parameter `x` was float [-1, 1], now float [0, 0.5]"),
            "{err}"
        );
        let mut r = record(Domain::float(0.0, 1.0));
        r.directions = vec![Direction::Maximize];
        assert!(
            store
                .open(&r)
                .unwrap_err()
                .to_string()
                .contains("directions")
        );
    }
}
