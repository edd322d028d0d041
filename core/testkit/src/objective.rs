//! The conformance suite for objectives.

use hyperplug_core::{ObjectiveFactory, Params, Settings, Space, TrialError};

use crate::{RecordingContext, UNKNOWN_KEY, check_params, spaces};

/// Points of a space evaluated per check.
const POINTS: u64 = 8;

/// Runs the conformance suite on an objective made by `factory` with `settings`; panics with a
/// message naming the objective and the violation at the first failure.
///
/// It checks that the info has a name and a version; an unknown settings key is refused by name;
/// the objective is created with `settings`, has metrics with distinct names, an optimum (if it
/// knows one) with one value per metric; and that evaluations on points of its own space (or,
/// without one, of the suite's mixed space) return one value per metric, or fail or prune as
/// trials may, without panicking, also when asked to stop after the first report. On its own
/// space at least one of the points must evaluate.
pub fn check_objective(factory: &dyn ObjectiveFactory, settings: &Settings) {
    let info = factory.info();
    let name = info.name.clone();
    assert!(
        !name.trim().is_empty(),
        "conformance: the objective's info() has an empty name"
    );
    assert!(
        !info.version.trim().is_empty(),
        "conformance: objective `{name}`: info() has an empty version"
    );
    match factory.create(&settings.clone().with(UNKNOWN_KEY, 1)) {
        Ok(_) => panic!(
            "conformance: objective `{name}` accepted the unknown settings key `{UNKNOWN_KEY}`; parse settings into a struct with #[serde(deny_unknown_fields)]"
        ),
        Err(e) => assert!(
            e.to_string().contains(UNKNOWN_KEY),
            "conformance: objective `{name}` refused the unknown settings key `{UNKNOWN_KEY}` without naming it: {e}"
        ),
    }
    let objective = factory.create(settings).unwrap_or_else(|e| {
        panic!(
            "conformance: objective `{name}` cannot be created with settings {}: {e}",
            settings.to_json()
        )
    });
    let metrics = objective.metrics();
    assert!(
        !metrics.is_empty(),
        "conformance: objective `{name}` declares no metric"
    );
    for (i, m) in metrics.iter().enumerate() {
        assert!(
            !m.name.trim().is_empty() && metrics[..i].iter().all(|o| o.name != m.name),
            "conformance: objective `{name}`: metric names must be distinct and non-empty, got {:?}",
            metrics.iter().map(|m| &m.name).collect::<Vec<_>>()
        );
    }
    if let Some(optimum) = objective.optimum() {
        assert_eq!(
            optimum.len(),
            metrics.len(),
            "conformance: objective `{name}`: its optimum has {} values for {} metrics",
            optimum.len(),
            metrics.len()
        );
    }
    let _ = objective.resources();
    let own = objective.space();
    let space = match &own {
        Some(space) => space.clone(),
        None => spaces()
            .into_iter()
            .find(|(label, _)| *label == "mixed")
            .map(|(_, s)| s)
            .expect("the battery has a mixed space"),
    };
    let mut evaluated = 0;
    for number in 0..POINTS {
        let params = point(&space, number);
        check_params(&space, &params).unwrap_or_else(|e| {
            panic!("conformance: objective `{name}`: its own space is unusable: {e}")
        });
        let prune_after = (number % 2 == 1).then_some(1);
        let mut ctx = RecordingContext {
            prune_after,
            study: "conformance".into(),
            ..RecordingContext::new(number)
        };
        match objective.evaluate(&params, &mut ctx) {
            Ok(eval) => {
                assert_eq!(
                    eval.values.len(),
                    metrics.len(),
                    "conformance: objective `{name}` returned {} values for {} metrics at {params:?}",
                    eval.values.len(),
                    metrics.len()
                );
                evaluated += 1;
            }
            Err(TrialError::Pruned) => {
                assert!(
                    prune_after.is_some(),
                    "conformance: objective `{name}` said it was pruned without being asked to stop"
                );
            }
            Err(_) => {}
        }
    }
    assert!(
        own.is_none() || evaluated > 0,
        "conformance: objective `{name}` failed on all {POINTS} points of its own space"
    );
}

/// A deterministic point of `space` for trial `number`.
fn point(space: &Space, number: u64) -> Params {
    let mut h = 0x9e37_79b9_7f4a_7c15_u64.wrapping_mul(number + 1);
    space.assign(|p| {
        h = h
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        p.domain.from_unit((h >> 11) as f64 / (1u64 << 53) as f64)
    })
}
