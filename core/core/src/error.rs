use thiserror::Error;

/// Something wrong with a search space as declared. Each message names the parameter and says
/// what to change.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SpaceError {
    /// Two parameters share a name.
    #[error("parameter `{0}` is declared twice; give each parameter its own name")]
    Duplicate(String),
    /// A parameter name is empty.
    #[error("a parameter has an empty name")]
    EmptyName,
    /// A bound is NaN or infinite.
    #[error("parameter `{name}`: bounds must be finite numbers, got [{low}, {high}]")]
    NotFinite {
        /// The parameter.
        name: String,
        /// Its lower bound.
        low: f64,
        /// Its upper bound.
        high: f64,
    },
    /// The bounds are the wrong way round (equal bounds are a range of one value).
    #[error(
        "parameter `{name}`: the range [{low}, {high}] is inverted; write it as [low, high] with low <= high"
    )]
    InvertedRange {
        /// The parameter.
        name: String,
        /// Its lower bound, as written.
        low: String,
        /// Its upper bound, as written.
        high: String,
    },
    /// Log scale over a range that includes zero or negative numbers.
    #[error(
        "parameter `{name}`: log scale needs a positive range, got [{low}, {high}]; raise the lower bound above 0 or drop `log`"
    )]
    LogNonPositive {
        /// The parameter.
        name: String,
        /// Its lower bound, as written.
        low: String,
        /// Its upper bound, as written.
        high: String,
    },
    /// A range too wide for floating point: `high - low` overflows, so samples collapse onto
    /// the bounds.
    #[error(
        "parameter `{name}`: the range [{low:e}, {high:e}] is too wide: high − low overflows a 64-bit float, so values cannot be spread over it; narrow it (|high − low| at most {max:e}) or use `log = true` on a positive range"
    )]
    TooWide {
        /// The parameter.
        name: String,
        /// Its lower bound.
        low: f64,
        /// Its upper bound.
        high: f64,
        /// The widest range that works.
        max: f64,
    },
    /// A step that is not positive, does not divide the range, or is combined with log scale.
    #[error("parameter `{name}`: {message}")]
    BadStep {
        /// The parameter.
        name: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A categorical parameter with no choices, or the same choice twice.
    #[error("parameter `{name}`: {message}")]
    BadChoices {
        /// The parameter.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A condition refers to a parameter the space does not declare.
    #[error(
        "parameter `{name}` has a condition on `{parent}`, which is not a parameter of this space (parameters: {known})"
    )]
    UnknownParent {
        /// The conditional parameter.
        name: String,
        /// The parent it names.
        parent: String,
        /// The parameters that exist.
        known: String,
    },
    /// A condition value that the parent can never take.
    #[error(
        "parameter `{name}`: its condition expects `{parent}` = {value}, which `{parent}` can never take"
    )]
    BadConditionValue {
        /// The conditional parameter.
        name: String,
        /// The parent.
        parent: String,
        /// The impossible value.
        value: String,
    },
    /// Conditions that form a cycle.
    #[error("the conditions between {0} form a cycle; a parameter cannot depend on itself")]
    Cycle(String),
    /// A set of parameters that does not fit the space (a strategy's suggestion, an enqueued trial).
    #[error("{0}")]
    Mismatch(String),
}

/// The errors of the domain model. Each names what went wrong and, where it can, what to do.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum Error {
    /// A search space that cannot be used.
    #[error("invalid search space: {0}")]
    Space(#[from] SpaceError),
    /// Settings that a strategy or objective does not accept.
    #[error("invalid settings for `{owner}`: {message}")]
    Settings {
        /// The strategy or objective.
        owner: String,
        /// What is wrong.
        message: String,
    },
    /// A strategy that cannot handle what the study needs.
    #[error("strategy `{strategy}` cannot run this study: it does not support {}", missing.join(", "))]
    MissingCapability {
        /// The strategy.
        strategy: String,
        /// The capabilities the study needs and the strategy lacks.
        missing: Vec<&'static str>,
    },
    /// A study declared with no objective, or values of the wrong count.
    #[error("{0}")]
    Objectives(String),
    /// The strategy failed (an error or a panic inside it).
    #[error("strategy failed: {0}")]
    Strategy(String),
    /// The strategy has nothing left to suggest (a grid that is done); the study ends cleanly.
    #[error("the strategy has no more points to suggest: {0}")]
    Exhausted(String),
    /// A trial number that the study does not know, or that is not running.
    #[error("trial {0} is not running in this study")]
    NotRunning(u64),
    /// The budget holds neither a trial count nor a time limit.
    #[error("the budget has no limit: give a number of trials, a timeout, or both")]
    UnboundedBudget,
    /// The store holding the study failed (a database that cannot be reached, a full disk). Runs
    /// stop on it rather than failing a trial for it.
    #[error("{0}")]
    Storage(String),
    /// Anything a plugin reports that fits no other kind.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// An invalid-settings error for `owner`.
    pub fn settings(owner: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Settings {
            owner: owner.into(),
            message: message.into(),
        }
    }
}
