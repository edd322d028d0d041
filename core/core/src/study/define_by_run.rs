//! Define-by-run: the space is learned from the objective's own calls, as Optuna's
//! `trial.suggest_*` learn it, so conditional parameters arise from the code's own branches.
//!
//! A study asks its strategy over the space known so far ([`Study::ask_open`]); the objective
//! then suggests parameters one by one ([`OpenTrial::suggest`]) and gets the strategy's value
//! for each known one. A parameter the space does not know yet is drawn at random from the
//! trial's own stream (seeded: reproducible), and joins the space when the trial is told
//! ([`Study::tell_open`]): the strategy is made again over the grown space and the store's
//! space grows too. A trial records only the parameters its code suggested; the others are
//! absent, as inactive conditional parameters are, and every strategy reads them so.

use indexmap::IndexMap;
use rand::Rng;

use super::Study;
use crate::capability::Requirements;
use crate::error::{Error, SpaceError};
use crate::rng::trial_rng;
use crate::settings::Settings;
use crate::space::{Domain, Param, Space};
use crate::storage::StudyRecord;
use crate::strategy::{StrategyFactory, StudySetup};
use crate::trial::{Trial, TrialError, TrialOutcome};
use crate::value::{Params, Value};

/// A running trial whose parameters its objective's code chooses as it runs (define-by-run).
/// It holds the strategy's suggestion over the space known when it was asked; finish it with
/// [`Study::tell_open`].
#[derive(Clone, Debug)]
pub struct OpenTrial {
    number: u64,
    seed: u64,
    space: Space,
    proposal: Params,
    used: Params,
    added: Vec<Param>,
    attrs: IndexMap<String, Value>,
}

impl OpenTrial {
    /// The trial's number in its study.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The parameters suggested so far, in the order of the calls.
    pub fn params(&self) -> &Params {
        &self.used
    }

    /// The trial's user attributes so far.
    pub fn user_attrs(&self) -> &IndexMap<String, Value> {
        &self.attrs
    }

    /// Keeps `value` with the trial under `key`, whatever its outcome.
    pub fn set_user_attr(&mut self, key: impl Into<String>, value: Value) {
        self.attrs.insert(key.into(), value);
    }

    /// The value of parameter `name` over `domain` for this trial: the strategy's suggestion
    /// when the space knows `name` with this domain, otherwise a random draw from the trial's
    /// own stream (the parameter joins the space when the trial is told). Suggesting a name
    /// again gives the same value. A name the study knows with another domain is refused,
    /// naming both, as is an invalid domain.
    pub fn suggest(&mut self, name: &str, domain: Domain) -> Result<Value, Error> {
        let known = self
            .space
            .get(name)
            .or_else(|| self.added.iter().find(|p| p.name == name));
        if let Some(p) = known {
            if p.domain != domain {
                return Err(Error::Space(SpaceError::Mismatch(format!(
                    "parameter `{name}` is {} in this study, and this trial suggests it as {}; a name keeps one distribution for the whole study, so give the new one another name",
                    p.domain.describe(),
                    domain.describe()
                ))));
            }
        } else {
            // Validates the domain (bounds, step, choices) with the parameter's name.
            Space::new(vec![Param::new(name, domain.clone())])?;
        }
        if let Some(v) = self.used.get(name) {
            return Ok(v.clone());
        }
        // The strategy's value, or the one a queued trial fixed (even for a name the space
        // does not know yet); otherwise a draw.
        let value = match self.proposal.get(name) {
            Some(v) if domain.contains(v) => v.clone(),
            _ => domain.from_unit(self.draw(name)),
        };
        if known.is_none() {
            self.added.push(Param::new(name, domain));
        }
        self.used.insert(name.to_owned(), value.clone());
        Ok(value)
    }

    /// A uniform number in [0, 1) for `name` from this trial's stream, independent of the
    /// order in which the code suggests its parameters.
    fn draw(&self, name: &str) -> f64 {
        // FNV-1a: stable across platforms and releases, unlike std's hasher.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        trial_rng(self.seed ^ hash, self.number).random::<f64>()
    }
}

impl Study {
    /// Asks for the next trial of a define-by-run study (a queued one first, else the
    /// strategy's suggestion over the space known so far); see [`Study::ask`].
    pub fn ask_open(&mut self) -> Result<OpenTrial, Error> {
        self.ask_open_within(None)?
            .ok_or_else(|| Error::Storage("the store refused to start a trial".into()))
    }

    /// [`Study::ask_open`], unless the study already counts `limit` trials.
    pub fn ask_open_within(&mut self, limit: Option<u64>) -> Result<Option<OpenTrial>, Error> {
        let Some(trial) = self.ask_within(limit)? else {
            return Ok(None);
        };
        Ok(Some(OpenTrial {
            number: trial.number,
            seed: self.config.seed,
            space: self.config.space.clone(),
            proposal: trial.params,
            used: Params::new(),
            added: Vec::new(),
            attrs: trial.user_attrs,
        }))
    }

    /// Queues a trial with fixed values for some parameters (a warm start), for a
    /// define-by-run study: names the space does not know yet are kept for the code to suggest,
    /// and the parameters a queued trial leaves out are drawn when suggested. Values outside a
    /// known parameter's domain are refused.
    pub fn enqueue_open(&mut self, params: &Params) -> Result<(), Error> {
        for (name, value) in params {
            if let Some(p) = self.config.space.get(name)
                && !p.domain.contains(value)
            {
                return Err(Error::Space(SpaceError::Mismatch(format!(
                    "`{name}` = {value} is outside its domain, {}",
                    p.domain.describe()
                ))));
            }
        }
        self.storage.enqueue(self.id, params)
    }

    /// Finishes a define-by-run trial with `outcome`, recording the parameters its code
    /// suggested and its user attributes. Parameters new to the study join its space first
    /// ([`Study::extend_space`], with the strategy's `factory` and `settings`); when they
    /// cannot (another worker gave the name another domain, or the strategy lacks a
    /// capability they need), the trial fails with that message and the error is returned.
    pub fn tell_open(
        &mut self,
        trial: OpenTrial,
        outcome: TrialOutcome,
        factory: &dyn StrategyFactory,
        settings: &Settings,
    ) -> Result<&Trial, Error> {
        let OpenTrial {
            number,
            used,
            added,
            attrs,
            ..
        } = trial;
        let grown = self.extend_space(added, factory, settings);
        let running = self
            .running
            .iter_mut()
            .find(|t| t.number == number)
            .ok_or(Error::NotRunning(number))?;
        let params: Params = self
            .config
            .space
            .params()
            .iter()
            .filter_map(|p| Some((p.name.clone(), used.get(&p.name)?.clone())))
            .collect();
        running.params = if params.len() == used.len() {
            params
        } else {
            used
        };
        running.user_attrs = attrs.clone();
        if let Err(e) = grown {
            self.tell(number, Err(TrialError::failed(e.to_string())))?;
            return Err(e);
        }
        let outcome = outcome.map(|mut eval| {
            for (k, v) in attrs {
                eval.attrs.entry(k).or_insert(v);
            }
            eval
        });
        self.tell(number, outcome)
    }

    /// Adds `params` to the study's space: the strategy is made again over the grown space
    /// (it reads every finished trial again), and the stored space grows too. Names the space
    /// already holds with the same domain are skipped; with another domain they are refused.
    /// A strategy that lacks a capability the new parameters need is refused by name.
    pub fn extend_space(
        &mut self,
        params: Vec<Param>,
        factory: &dyn StrategyFactory,
        settings: &Settings,
    ) -> Result<(), Error> {
        let mut all = self.config.space.params().to_vec();
        for p in params {
            match all.iter().find(|q| q.name == p.name) {
                Some(q) if q.domain == p.domain => {}
                Some(q) => {
                    return Err(Error::Space(SpaceError::Mismatch(format!(
                        "parameter `{}` is {} in this study, and a trial suggested it as {}; a name keeps one distribution for the whole study, so give the new one another name",
                        p.name,
                        q.domain.describe(),
                        p.domain.describe()
                    ))));
                }
                None => all.push(p),
            }
        }
        if all.len() == self.config.space.len() {
            return Ok(());
        }
        let space = Space::new(all)?;
        let config = &self.config;
        let info = factory.info();
        let needs = Requirements::of(&space, &config.directions, config.parallelism);
        let missing = info.capabilities.missing(&needs);
        if !missing.is_empty() {
            return Err(Error::MissingCapability {
                strategy: info.name,
                missing,
            });
        }
        let strategy = factory.create(&StudySetup {
            space: &space,
            directions: &config.directions,
            seed: config.seed,
            settings,
        })?;
        let mut record = StudyRecord::new(
            config.name.clone(),
            space.clone(),
            config.directions.clone(),
        );
        record.retries = config.retries;
        record.grace_s = config.grace.as_secs_f64();
        record.definition = config.definition.clone();
        record.define_by_run = true;
        // No seed: the stored one stays, and this study already runs with it.
        self.storage.open(&record)?;
        self.strategy = strategy;
        self.config.space = space;
        self.config.define_by_run = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::capability::Capabilities;
    use crate::storage::{MemoryStorage, Storage};
    use crate::strategy::{AskContext, PluginInfo, Strategy};
    use crate::study::{Direction, StudyConfig};
    use crate::trial::TrialState;

    /// Suggests the centre of every parameter, and counts the parameters it was made with.
    struct Centre;

    impl StrategyFactory for Centre {
        fn info(&self) -> PluginInfo {
            PluginInfo::new("centre", "0", "", Capabilities::all())
        }
        fn create(&self, _: &StudySetup<'_>) -> Result<Box<dyn crate::Strategy>, Error> {
            Ok(Box::new(Centre))
        }
    }

    impl Strategy for Centre {
        fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
            Ok(ctx.space.assign(|p| p.domain.from_unit(0.5)))
        }
    }

    fn open(store: Arc<dyn Storage>, seed: u64) -> Study {
        let mut config = StudyConfig::new("dbr", Space::empty(), vec![Direction::Minimize]);
        config.define_by_run = true;
        config.seed = seed;
        Study::open(config, &Centre, &Settings::default(), store).unwrap()
    }

    #[test]
    fn new_parameters_are_drawn_then_learned_and_only_suggested_ones_are_recorded() {
        let store: Arc<dyn Storage> = Arc::new(MemoryStorage::new());
        let mut s = open(store.clone(), 3);
        let mut t = s.ask_open().unwrap();
        let x = t.suggest("x", Domain::float(0.0, 10.0)).unwrap();
        assert_ne!(
            x,
            Value::Float(5.0),
            "unknown: drawn, not the strategy's centre"
        );
        assert_eq!(t.suggest("x", Domain::float(0.0, 10.0)).unwrap(), x);
        let err = t.suggest("x", Domain::int(0, 10)).unwrap_err().to_string();
        assert!(
            err.contains("`x` is float [0, 10] in this study") && err.contains("int [0, 10]"),
            "{err}"
        );
        t.set_user_attr("note", Value::from("first"));
        s.tell_open(t, Ok(1.0.into()), &Centre, &Settings::default())
            .unwrap();
        assert_eq!(s.config().space.len(), 1);

        // Known now: the strategy's value. A branch not taken leaves `y` out of the trial.
        let mut t = s.ask_open().unwrap();
        assert_eq!(
            t.suggest("x", Domain::float(0.0, 10.0)).unwrap(),
            Value::Float(5.0)
        );
        s.tell_open(t, Err(TrialError::Pruned), &Centre, &Settings::default())
            .unwrap();
        let mut t = s.ask_open().unwrap();
        t.suggest("x", Domain::float(0.0, 10.0)).unwrap();
        t.suggest("y", Domain::choice(["a", "b"])).unwrap();
        s.tell_open(t, Ok(0.5.into()), &Centre, &Settings::default())
            .unwrap();
        let trials = s.finished();
        assert_eq!(trials[0].params.keys().collect::<Vec<_>>(), ["x"]);
        assert_eq!(trials[0].user_attrs["note"], Value::from("first"));
        assert_eq!(trials[1].state, TrialState::Pruned);
        assert_eq!(trials[2].params.keys().collect::<Vec<_>>(), ["x", "y"]);
        assert_eq!(s.best_trial().unwrap().number, 2);

        // Another process that has seen only `x` opens the study: the store keeps `y`.
        let mut other = open(store.clone(), 3);
        other
            .extend_space(
                vec![Param::new("x", Domain::float(0.0, 10.0))],
                &Centre,
                &Settings::default(),
            )
            .unwrap();
        let mut fresh = open(store, 3);
        let err = fresh
            .extend_space(
                vec![Param::new("y", Domain::int(0, 3))],
                &Centre,
                &Settings::default(),
            )
            .unwrap_err();
        assert!(err.to_string().contains("`y`"), "{err}");
        assert_eq!(other.finished().len(), 3);
    }

    #[test]
    fn a_seeded_study_draws_its_new_parameters_the_same_way_again() {
        let draw = |seed| {
            let mut s = open(Arc::new(MemoryStorage::new()), seed);
            let mut t = s.ask_open().unwrap();
            let a = t.suggest("a", Domain::float(0.0, 1.0)).unwrap();
            let b = t.suggest("b", Domain::int(1, 1000)).unwrap();
            (a, b)
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
    }
}
