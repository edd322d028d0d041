use serde::{Deserialize, Serialize};

use crate::capability::Capabilities;
use crate::error::Error;
use crate::settings::Settings;
use crate::space::Space;
use crate::study::Direction;
use crate::trial::Trial;
use crate::value::Params;

/// What a strategy or objective says about itself: its name (what study files refer to), its
/// version, a one-line description and, for strategies, its capabilities.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// The name a study file uses, e.g. `random`.
    pub name: String,
    /// Its own version, independent of the host's.
    pub version: String,
    /// One line for `hyperplug plugins list`.
    pub description: String,
    /// What it can handle (strategies only; objectives leave it default).
    pub capabilities: Capabilities,
}

impl PluginInfo {
    /// Info from its parts.
    pub fn new(
        name: impl Into<String>,
        version: impl Into<String>,
        description: impl Into<String>,
        capabilities: Capabilities,
    ) -> Self {
        PluginInfo {
            name: name.into(),
            version: version.into(),
            description: description.into(),
            capabilities,
        }
    }
}

/// Everything a strategy learns when it is created for a study.
#[derive(Clone, Copy, Debug)]
pub struct StudySetup<'a> {
    /// The space it searches.
    pub space: &'a Space,
    /// One direction per objective.
    pub directions: &'a [Direction],
    /// The study's seed: the same seed and history must give the same suggestions.
    pub seed: u64,
    /// Its own settings from the study file.
    pub settings: &'a Settings,
}

/// Makes strategies: the unit that is bundled into the host or exported by a plugin library.
pub trait StrategyFactory: Send + Sync {
    /// Name, version, description and capabilities.
    fn info(&self) -> PluginInfo;

    /// A strategy for one study. Settings and space are checked here, so that a bad pairing is
    /// refused before the first trial.
    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error>;
}

/// What a strategy sees when asked for the next trial.
#[derive(Clone, Copy, Debug)]
pub struct AskContext<'a> {
    /// The space to suggest from.
    pub space: &'a Space,
    /// One direction per objective.
    pub directions: &'a [Direction],
    /// The study's seed.
    pub seed: u64,
    /// Every finished trial (complete, pruned or failed), in the order they finished. Within one
    /// strategy's life this list only grows at the end, so a strategy may keep incremental state
    /// keyed by its length.
    pub trials: &'a [Trial],
    /// The trials that run now, so that parallel asks do not all propose the same point.
    pub running: &'a [Trial],
    /// The number the new trial will get.
    pub number: u64,
}

/// A search strategy (sampler): proposes parameters and learns from results; stopping running
/// trials early is a [`Pruner`](crate::Pruner)'s job, beside it. Implementations must stay within
/// the space and be reproducible for a given seed and history.
pub trait Strategy: Send {
    /// The parameters for trial `ctx.number`.
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error>;

    /// A trial has finished; `ctx.trials` already ends with it. The default does nothing, for
    /// strategies that read the history in `ask`.
    fn tell(&mut self, ctx: &AskContext<'_>, trial: &Trial) -> Result<(), Error> {
        let _ = (ctx, trial);
        Ok(())
    }
}
