//! Stored studies as data: a study and its trials in the study schema (`hyperplug-schema`),
//! deleting, and parameters given by hand checked against a study's space. Front ends draw them (the CLI's tables and exports, the
//! report, the dashboard); nothing here prints.

use anyhow::{Result, anyhow, bail};
use hyperplug_core::{Domain, Params, Space, Value};
use hyperplug_schema::{StudyData, StudyInfo, TrialData};
use hyperplug_storage::{Store, StudySummary};

use crate::run::{Definition, find, stored_seed};

/// What a stored study's record and definition say, in the study schema: name, directions,
/// space, strategy, objective, seed, budget, where it is stored, when it was made and last
/// touched.
pub fn study_info(store: &dyn Store, summary: &StudySummary) -> StudyInfo {
    let record = &summary.record;
    let mut info = StudyInfo::from_record(record);
    if let Some(d) = Definition::of(record) {
        info.strategy = Some(d.strategy);
        info.objective = Some(d.objective);
        info.trial_budget = d.trials;
    }
    info.seed = stored_seed(record);
    info.definition = Definition::shown(record);
    info.storage = Some(store.location());
    info.created_ms = Some(summary.created_ms);
    info.updated_ms = Some(summary.updated_ms);
    info
}

/// A stored study and every trial (read in one query, with the worker that ran each), in the
/// study schema: what `studies export`, `studies best --json`, the report and the dashboard
/// show.
pub fn study_data(store: &dyn Store, summary: &StudySummary) -> Result<StudyData> {
    let mut trials = Vec::with_capacity(summary.total() as usize);
    store.each_trial(summary.id, &mut |stored| {
        let mut t = TrialData::from(&stored.trial);
        t.worker = stored.worker;
        t.retry_of = stored.retry_of;
        trials.push(t);
        true
    })?;
    let mut data = StudyData::new(study_info(store, summary), trials);
    data.counts.queued = summary.queued;
    Ok(data)
}

/// Removes the study `name` with its trials; refuses unless `yes` (`hyperplug studies delete
/// NAME --yes`), saying how many trials would go.
pub fn delete(store: &dyn Store, name: &str, yes: bool) -> Result<u64> {
    let s = find(store, name)?;
    if !yes {
        bail!(
            "deleting study `{name}` removes its {} trials from {} for good; add --yes to do it",
            s.total(),
            store.location()
        );
    }
    Ok(store.delete(s.id)?)
}

/// Parameters given by hand, checked against `space`: JSON objects (`{"x": 1.5}`) or
/// `name=value` pairs, each value read as its parameter's domain expects. Each JSON object is
/// one trial; the pairs together make one more.
pub fn parse_params(space: &Space, json: &[String], pairs: &[String]) -> Result<Vec<Params>> {
    let mut trials = Vec::new();
    for text in json {
        let Entries(object) = serde_json::from_str(text)
            .map_err(|e| anyhow!("`{text}` is not a JSON object of parameters: {e}"))?;
        let given = object
            .into_iter()
            .map(|(k, v)| {
                let domain = domain_of(space, &k)?;
                let value =
                    from_json(domain, &v).ok_or_else(|| mismatch(&k, &v.to_string(), domain))?;
                Ok((k, value))
            })
            .collect::<Result<Vec<_>>>()?;
        trials.push(in_space_order(space, given)?);
    }
    if !pairs.is_empty() {
        let given = pairs
            .iter()
            .map(|pair| {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    anyhow!("`{pair}` is not a parameter; write name=value, e.g. lr=0.01")
                })?;
                let (k, v) = (k.trim(), v.trim());
                let domain = domain_of(space, k)?;
                let value = from_text(domain, v).ok_or_else(|| mismatch(k, v, domain))?;
                Ok((k.to_owned(), value))
            })
            .collect::<Result<Vec<_>>>()?;
        trials.push(in_space_order(space, given)?);
    }
    if trials.is_empty() {
        bail!("give the parameters: --params '{{\"x\": 1.5}}' or x=1.5 y=relu");
    }
    Ok(trials)
}

fn domain_of<'a>(space: &'a Space, name: &str) -> Result<&'a Domain> {
    space.get(name).map(|p| &p.domain).ok_or_else(|| {
        let known: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
        anyhow!(
            "`{name}` is not a parameter of this study (its parameters: {})",
            known.join(", ")
        )
    })
}

fn mismatch(name: &str, value: &str, domain: &Domain) -> anyhow::Error {
    anyhow!(
        "`{name}` = {value} does not fit its domain, {}",
        domain.describe()
    )
}

fn from_json(domain: &Domain, v: &serde_json::Value) -> Option<Value> {
    match domain {
        Domain::Float { .. } => v.as_f64().map(Value::Float),
        Domain::Int { .. } => v
            .as_i64()
            .or_else(|| v.as_f64().filter(|x| x.fract() == 0.0).map(|x| x as i64))
            .map(Value::Int),
        Domain::Categorical { choices } => choices
            .iter()
            .find(|c| {
                serde_json::to_value(c).is_ok_and(|j| &j == v)
                    || v.as_str().is_some_and(|s| s == c.to_string())
            })
            .cloned(),
    }
}

fn from_text(domain: &Domain, v: &str) -> Option<Value> {
    match domain {
        Domain::Float { .. } => v.parse::<f64>().ok().map(Value::Float),
        Domain::Int { .. } => v.parse::<i64>().ok().map(Value::Int),
        Domain::Categorical { choices } => choices.iter().find(|c| c.to_string() == v).cloned(),
    }
}

/// A JSON object's entries as written, repeated keys included: a map keeps only one value of a
/// repeated key, and the other would be dropped without a word.
struct Entries(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for Entries {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Entries;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of parameters")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Entries, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Visit)
    }
}

/// The parameters in the space's order, checked: every active one given, none inactive, none
/// twice.
fn in_space_order(space: &Space, given: Vec<(String, Value)>) -> Result<Params> {
    let mut seen = std::collections::HashSet::with_capacity(given.len());
    if let Some((name, _)) = given.iter().find(|(k, _)| !seen.insert(k.as_str())) {
        bail!("`{name}` is given twice; give each parameter once");
    }
    let mut params = Params::new();
    for p in space.params() {
        if let Some((_, v)) = given.iter().find(|(k, _)| *k == p.name) {
            params.insert(p.name.clone(), v.clone());
        }
    }
    space
        .validate(&params)
        .map_err(|e| anyhow!("these parameters do not fit the study's space: {e}"))?;
    Ok(params)
}

#[cfg(test)]
mod tests {
    use hyperplug_core::Param;

    use super::*;

    fn space() -> Space {
        Space::new(vec![
            Param::new("lr", Domain::float(1e-4, 1e-1).log()),
            Param::new("layers", Domain::int(1, 3)),
            Param::new("act", Domain::choice(["relu", "tanh"])),
            Param::new("batch", Domain::choice([32, 64])),
            Param::new("units_2", Domain::int(8, 64)).when("layers", [2, 3]),
        ])
        .unwrap()
    }

    #[test]
    fn parameters_by_hand_are_typed_by_their_domain_and_checked() {
        let s = space();
        let from_pairs = parse_params(
            &s,
            &[],
            &["act=tanh", "layers=2", "lr=0.01", "batch=64", "units_2=16"].map(String::from),
        )
        .unwrap();
        let from_json = parse_params(
            &s,
            &[r#"{"units_2": 16.0, "lr": 0.01, "layers": 2, "act": "tanh", "batch": 64}"#.into()],
            &[],
        )
        .unwrap();
        assert_eq!(from_pairs, from_json);
        let p = &from_pairs[0];
        assert_eq!(
            p.keys().collect::<Vec<_>>(),
            ["lr", "layers", "act", "batch", "units_2"],
            "space order"
        );
        assert_eq!(p["lr"], Value::Float(0.01));
        assert_eq!(p["batch"], Value::Int(64));

        for (pairs, needle) in [
            (
                vec!["lr=0.5"],
                "`lr` = 0.5 (float) is outside its domain, float [0.0001, 0.1] log",
            ),
            (vec!["momentum=0.9"], "`momentum` is not a parameter"),
            (vec!["layers=1.5"], "`layers` = 1.5 does not fit"),
            (vec!["act=gelu"], "`act` = gelu does not fit"),
            (vec!["lr"], "name=value"),
            (
                vec!["lr=0.01", "layers=1", "act=relu", "batch=32", "units_2=8"],
                "condition does not hold",
            ),
            (vec!["lr=0.01"], "is missing"),
        ] {
            let pairs: Vec<String> = pairs.into_iter().map(String::from).collect();
            let e = format!("{:#}", parse_params(&s, &[], &pairs).unwrap_err());
            assert!(e.contains(needle), "{pairs:?}: {e}");
        }
        let e = parse_params(&s, &["[1]".into()], &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a JSON object"), "{e}");
        assert!(parse_params(&s, &[], &[]).is_err());
    }

    #[test]
    fn a_parameter_given_twice_is_refused_rather_than_one_value_dropped() {
        let s = space();
        let rest = ["layers=1", "act=relu", "batch=32"].map(String::from);
        for lr in [["lr=0.01", "lr=0.05"], ["lr=0.01", " lr = 0.01"]] {
            let pairs: Vec<String> = lr
                .iter()
                .map(|p| (*p).to_owned())
                .chain(rest.clone())
                .collect();
            let e = format!("{:#}", parse_params(&s, &[], &pairs).unwrap_err());
            assert!(e.contains("`lr` is given twice"), "{pairs:?}: {e}");
        }
        let json = r#"{"lr": 0.01, "layers": 1, "act": "relu", "batch": 32, "lr": 0.05}"#;
        let e = format!("{:#}", parse_params(&s, &[json.into()], &[]).unwrap_err());
        assert!(e.contains("`lr` is given twice"), "{e}");
    }
}
