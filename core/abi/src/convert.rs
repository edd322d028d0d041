//! Conversions between the domain model and its FFI mirrors. Both directions are lossless.

use abi_stable::std_types::{ROption, RString, RVec, Tuple2};
use hyperplug_core::{
    Capabilities, Error, Evaluation, Params, PluginInfo, Trial, TrialError, TrialState, Value,
};

use crate::types::*;

impl From<&Value> for FfiValue {
    fn from(v: &Value) -> Self {
        match v {
            Value::Bool(b) => FfiValue::Bool(*b),
            Value::Int(i) => FfiValue::Int(*i),
            Value::Float(x) => FfiValue::Float(*x),
            Value::Str(s) => FfiValue::Str(RString::from(s.as_str())),
        }
    }
}

impl From<&FfiValue> for Value {
    fn from(v: &FfiValue) -> Self {
        match v {
            FfiValue::Bool(b) => Value::Bool(*b),
            FfiValue::Int(i) => Value::Int(*i),
            FfiValue::Float(x) => Value::Float(*x),
            FfiValue::Str(s) => Value::Str(s.to_string()),
        }
    }
}

/// Parameters to their FFI form.
pub fn to_ffi_params(params: &Params) -> FfiParams {
    params
        .iter()
        .map(|(name, value)| FfiParam {
            name: RString::from(name.as_str()),
            value: value.into(),
        })
        .collect()
}

/// Parameters from their FFI form.
pub fn from_ffi_params(params: &[FfiParam]) -> Params {
    params
        .iter()
        .map(|p| (p.name.to_string(), Value::from(&p.value)))
        .collect()
}

impl From<TrialState> for FfiTrialState {
    fn from(s: TrialState) -> Self {
        match s {
            TrialState::Running => FfiTrialState::Running,
            TrialState::Complete => FfiTrialState::Complete,
            TrialState::Pruned => FfiTrialState::Pruned,
            TrialState::Failed => FfiTrialState::Failed,
        }
    }
}

impl From<FfiTrialState> for TrialState {
    fn from(s: FfiTrialState) -> Self {
        match s {
            FfiTrialState::Running => TrialState::Running,
            FfiTrialState::Complete => TrialState::Complete,
            FfiTrialState::Pruned => TrialState::Pruned,
            FfiTrialState::Failed => TrialState::Failed,
        }
    }
}

/// A trial to its FFI form.
pub fn to_ffi_trial(t: &Trial) -> FfiTrial {
    FfiTrial {
        number: t.number,
        params: to_ffi_params(&t.params),
        state: t.state.into(),
        values: RVec::from(t.values.as_slice()),
        intermediate: t.intermediate.iter().map(|&(s, v)| Tuple2(s, v)).collect(),
        started_ms: t.started_ms,
        duration_s: ROption::from(t.duration_s),
        user_attrs: to_ffi_params(&t.user_attrs),
        message: ROption::from(t.message.as_deref().map(RString::from)),
    }
}

/// A trial from its FFI form.
pub fn from_ffi_trial(t: &FfiTrial) -> Trial {
    Trial {
        number: t.number,
        params: from_ffi_params(&t.params),
        state: t.state.into(),
        values: t.values.to_vec(),
        intermediate: t.intermediate.iter().map(|p| (p.0, p.1)).collect(),
        started_ms: t.started_ms,
        duration_s: t.duration_s.into_option(),
        user_attrs: from_ffi_params(&t.user_attrs),
        message: t.message.as_ref().map(|m| m.to_string()).into_option(),
    }
}

impl From<Capabilities> for FfiCapabilities {
    fn from(c: Capabilities) -> Self {
        FfiCapabilities {
            categorical: c.categorical,
            conditional: c.conditional,
            multi_objective: c.multi_objective,
            parallel: c.parallel,
            pruning: c.pruning,
        }
    }
}

impl From<FfiCapabilities> for Capabilities {
    fn from(c: FfiCapabilities) -> Self {
        Capabilities {
            categorical: c.categorical,
            conditional: c.conditional,
            multi_objective: c.multi_objective,
            parallel: c.parallel,
            pruning: c.pruning,
        }
    }
}

impl From<&PluginInfo> for FfiInfo {
    fn from(i: &PluginInfo) -> Self {
        FfiInfo {
            name: i.name.as_str().into(),
            version: i.version.as_str().into(),
            description: i.description.as_str().into(),
            capabilities: i.capabilities.into(),
        }
    }
}

impl From<&FfiInfo> for PluginInfo {
    fn from(i: &FfiInfo) -> Self {
        PluginInfo {
            name: i.name.to_string(),
            version: i.version.to_string(),
            description: i.description.to_string(),
            capabilities: i.capabilities.into(),
        }
    }
}

impl From<&Evaluation> for FfiEvaluation {
    fn from(e: &Evaluation) -> Self {
        FfiEvaluation {
            values: RVec::from(e.values.as_slice()),
            attrs: to_ffi_params(&e.attrs),
        }
    }
}

impl From<&FfiEvaluation> for Evaluation {
    fn from(e: &FfiEvaluation) -> Self {
        Evaluation {
            values: e.values.to_vec(),
            attrs: from_ffi_params(&e.attrs),
        }
    }
}

impl From<&Error> for FfiError {
    fn from(e: &Error) -> Self {
        let kind = match e {
            Error::Settings { .. } => FfiErrorKind::Settings,
            Error::Space(_) => FfiErrorKind::Space,
            Error::MissingCapability { .. } => FfiErrorKind::Unsupported,
            Error::Exhausted(_) => FfiErrorKind::Exhausted,
            _ => FfiErrorKind::Failed,
        };
        let message = match e {
            // Keep the inner text: the host rebuilds the outer wording from the kind.
            Error::Exhausted(m) | Error::Strategy(m) | Error::Other(m) => m.clone(),
            Error::Settings { message, .. } => message.clone(),
            other => other.to_string(),
        };
        FfiError::new(kind, message)
    }
}

impl FfiError {
    /// The domain error this stands for; `owner` names the strategy or objective it came from.
    pub fn into_error(self, owner: &str) -> Error {
        let message = self.message.into_string();
        match self.kind {
            FfiErrorKind::Settings => Error::settings(owner, message),
            FfiErrorKind::Exhausted => Error::Exhausted(message),
            FfiErrorKind::Panicked => Error::Strategy(format!("`{owner}` panicked: {message}")),
            _ => Error::Strategy(format!("`{owner}`: {message}")),
        }
    }

    /// The trial error this stands for.
    pub fn into_trial_error(self) -> TrialError {
        match self.kind {
            FfiErrorKind::Pruned => TrialError::Pruned,
            FfiErrorKind::Panicked => {
                TrialError::Failed(format!("the objective panicked: {}", self.message))
            }
            _ => TrialError::Failed(self.message.into_string()),
        }
    }
}

impl From<&TrialError> for FfiError {
    fn from(e: &TrialError) -> Self {
        match e {
            TrialError::Pruned => FfiError::new(FfiErrorKind::Pruned, "pruned"),
            TrialError::Failed(m) => FfiError::new(FfiErrorKind::Failed, m.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trials_round_trip() {
        let mut t = Trial::running(
            7,
            [
                ("lr".to_owned(), Value::Float(0.01)),
                ("act".to_owned(), Value::Str("relu".into())),
                ("n".to_owned(), Value::Int(3)),
                ("b".to_owned(), Value::Bool(true)),
            ]
            .into_iter()
            .collect(),
            123,
        );
        t.state = TrialState::Pruned;
        t.intermediate = vec![(1, 0.5), (2, 0.25)];
        t.duration_s = Some(1.5);
        t.message = Some("why".into());
        assert_eq!(from_ffi_trial(&to_ffi_trial(&t)), t);
    }
}
