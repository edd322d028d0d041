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
            TrialState::Running => FfiTrialState::RUNNING,
            TrialState::Complete => FfiTrialState::COMPLETE,
            TrialState::Pruned => FfiTrialState::PRUNED,
            TrialState::Failed => FfiTrialState::FAILED,
        }
    }
}

impl From<FfiTrialState> for TrialState {
    fn from(s: FfiTrialState) -> Self {
        match s {
            FfiTrialState::RUNNING => TrialState::Running,
            FfiTrialState::COMPLETE => TrialState::Complete,
            FfiTrialState::PRUNED => TrialState::Pruned,
            // FAILED, and any state a newer host added: finished, neither complete nor pruned.
            _ => TrialState::Failed,
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

/// A trial's intermediate vectors in their FFI form (see
/// [`FfiPruner::prune_values`](crate::FfiPruner::prune_values)); empty when it reported single
/// values only.
pub fn to_ffi_vectors(t: &Trial) -> FfiVectors {
    t.intermediate_values
        .iter()
        .map(|(s, v)| Tuple2(*s, RVec::from(v.as_slice())))
        .collect()
}

/// A trial from its FFI form. `FfiTrial` holds one intermediate value per step (its layout is
/// fixed within ABI 1.x): the vectors of a study with several objectives travel beside it (see
/// [`FfiPruner::prune_values`](crate::FfiPruner::prune_values)), so they are empty here.
pub fn from_ffi_trial(t: &FfiTrial) -> Trial {
    Trial {
        number: t.number,
        params: from_ffi_params(&t.params),
        state: t.state.into(),
        values: t.values.to_vec(),
        intermediate: t.intermediate.iter().map(|p| (p.0, p.1)).collect(),
        intermediate_values: Vec::new(),
        started_ms: t.started_ms,
        duration_s: t.duration_s.into_option(),
        user_attrs: from_ffi_params(&t.user_attrs),
        message: t.message.as_ref().map(|m| m.to_string()).into_option(),
    }
}

/// The flag of one capability.
type Flag = fn(&mut Capabilities) -> &mut bool;

/// The capability names as they cross the boundary, and the flag each sets.
const CAPABILITIES: [(&str, Flag); 4] = [
    ("categorical", |c| &mut c.categorical),
    ("conditional", |c| &mut c.conditional),
    ("multi-objective", |c| &mut c.multi_objective),
    ("parallel", |c| &mut c.parallel),
];

/// Capabilities as they cross the boundary: a JSON list of the names that are set.
pub fn capabilities_to_json(c: Capabilities) -> String {
    let mut c = c;
    let names: Vec<&str> = CAPABILITIES
        .iter()
        .filter(|(_, flag)| *flag(&mut c))
        .map(|(name, _)| *name)
        .collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

/// Capabilities from their JSON list of names, and the names this side does not know (a newer
/// library's: capabilities this host cannot ask for).
pub fn capabilities_from_json(json: &str) -> Result<(Capabilities, Vec<String>), String> {
    let names: Vec<String> = serde_json::from_str(json)
        .map_err(|e| format!("capabilities are not a JSON list of names ({e}): `{json}`"))?;
    let mut caps = Capabilities::default();
    let mut unknown = Vec::new();
    for name in names {
        match CAPABILITIES.iter().find(|(n, _)| *n == name) {
            Some((_, flag)) => *flag(&mut caps) = true,
            None => unknown.push(name),
        }
    }
    Ok((caps, unknown))
}

impl From<&PluginInfo> for FfiInfo {
    fn from(i: &PluginInfo) -> Self {
        FfiInfo {
            name: i.name.as_str().into(),
            version: i.version.as_str().into(),
            description: i.description.as_str().into(),
            capabilities: capabilities_to_json(i.capabilities).into(),
        }
    }
}

/// The info a library sent, and the capability names this side does not know.
pub fn from_ffi_info(i: &FfiInfo) -> Result<(PluginInfo, Vec<String>), String> {
    let (capabilities, unknown) = capabilities_from_json(i.capabilities.as_str())?;
    Ok((
        PluginInfo {
            name: i.name.to_string(),
            version: i.version.to_string(),
            description: i.description.to_string(),
            capabilities,
        },
        unknown,
    ))
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
            Error::Settings { .. } => FfiErrorKind::SETTINGS,
            Error::Space(_) => FfiErrorKind::SPACE,
            Error::MissingCapability { .. } => FfiErrorKind::UNSUPPORTED,
            Error::Exhausted(_) => FfiErrorKind::EXHAUSTED,
            _ => FfiErrorKind::FAILED,
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
            FfiErrorKind::SETTINGS => Error::settings(owner, message),
            FfiErrorKind::EXHAUSTED => Error::Exhausted(message),
            FfiErrorKind::PANICKED => Error::Strategy(format!("`{owner}` panicked: {message}")),
            _ => Error::Strategy(format!("`{owner}`: {message}")),
        }
    }

    /// The trial error this stands for.
    pub fn into_trial_error(self) -> TrialError {
        match self.kind {
            FfiErrorKind::PRUNED => TrialError::Pruned,
            FfiErrorKind::PANICKED => {
                TrialError::Failed(format!("the objective panicked: {}", self.message))
            }
            _ => TrialError::Failed(self.message.into_string()),
        }
    }
}

impl From<&TrialError> for FfiError {
    fn from(e: &TrialError) -> Self {
        match e {
            TrialError::Pruned => FfiError::new(FfiErrorKind::PRUNED, "pruned"),
            TrialError::Failed(m) => FfiError::new(FfiErrorKind::FAILED, m.as_str()),
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

    #[test]
    fn sets_that_grow_read_what_they_do_not_know_as_documented() {
        let mut t = to_ffi_trial(&Trial::running(1, Params::new(), 0));
        t.state = FfiTrialState(200);
        assert_eq!(from_ffi_trial(&t).state, TrialState::Failed);
        let e = FfiError {
            kind: FfiErrorKind(99),
            message: "new kind".into(),
        };
        assert_eq!(
            e.clone().into_error("x").to_string(),
            Error::Strategy("`x`: new kind".into()).to_string()
        );
        assert!(matches!(e.into_trial_error(), TrialError::Failed(m) if m == "new kind"));
    }

    #[test]
    fn capabilities_travel_as_names_and_unknown_names_are_kept_apart() {
        let caps = Capabilities {
            categorical: true,
            parallel: true,
            ..Capabilities::default()
        };
        let json = capabilities_to_json(caps);
        assert_eq!(json, r#"["categorical","parallel"]"#);
        assert_eq!(capabilities_from_json(&json).unwrap(), (caps, vec![]));
        // `pruning`, a strategy's claim before pruners were their own kind, is no longer one.
        let (all, unknown) =
            capabilities_from_json(r#"["pruning","batch-ask","multi-objective"]"#).unwrap();
        assert!(all.multi_objective && !all.categorical);
        assert_eq!(unknown, ["pruning", "batch-ask"]);
        assert!(
            capabilities_from_json("{}")
                .unwrap_err()
                .contains("JSON list")
        );
    }
}
