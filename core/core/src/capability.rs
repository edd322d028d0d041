use serde::{Deserialize, Serialize};

use crate::space::Space;
use crate::study::Direction;

/// What a strategy can handle. The host compares it with what a study needs before the first
/// trial, and refuses an incapable pairing by naming what is missing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// Categorical parameters.
    pub categorical: bool,
    /// Parameters that exist only under a condition on another.
    pub conditional: bool,
    /// Studies with several objectives.
    pub multi_objective: bool,
    /// Being asked again while earlier trials still run (parallel workers).
    pub parallel: bool,
}

impl Capabilities {
    /// Everything: the right claim for strategies that sample without looking at results.
    pub fn all() -> Self {
        Capabilities {
            categorical: true,
            conditional: true,
            multi_objective: true,
            parallel: true,
        }
    }

    /// The names of the capabilities that `needs` asks for and `self` lacks.
    pub fn missing(&self, needs: &Requirements) -> Vec<&'static str> {
        let mut out = Vec::new();
        if needs.categorical && !self.categorical {
            out.push("categorical parameters");
        }
        if needs.conditional && !self.conditional {
            out.push("conditional parameters");
        }
        if needs.multi_objective && !self.multi_objective {
            out.push("several objectives");
        }
        if needs.parallel && !self.parallel {
            out.push("parallel asks");
        }
        out
    }

    /// The capability names that are set, for listings.
    pub fn names(&self) -> Vec<&'static str> {
        let mut out = vec!["float", "int"];
        for (on, name) in [
            (self.categorical, "categorical"),
            (self.conditional, "conditional"),
            (self.multi_objective, "multi-objective"),
            (self.parallel, "parallel"),
        ] {
            if on {
                out.push(name);
            }
        }
        out
    }
}

/// What a study needs of its strategy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requirements {
    /// The space has categorical parameters.
    pub categorical: bool,
    /// The space has conditional parameters.
    pub conditional: bool,
    /// The study has more than one objective.
    pub multi_objective: bool,
    /// More than one trial runs at a time.
    pub parallel: bool,
}

impl Requirements {
    /// What a study over `space` with `directions` and `parallelism` trials at once needs.
    pub fn of(space: &Space, directions: &[Direction], parallelism: usize) -> Self {
        Requirements {
            categorical: space.has_categorical(),
            conditional: space.has_conditions(),
            multi_objective: directions.len() > 1,
            parallel: parallelism > 1,
        }
    }
}
