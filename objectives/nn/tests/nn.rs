//! The `mlp` objective end to end: learning, determinism, pruning, settings and data errors.

use hyperplug_core::{
    Evaluation, Objective, ObjectiveFactory, Params, Settings, TrialError, Value,
};
use hyperplug_nn::Mlp;
use hyperplug_testkit::RecordingContext;
use serde_json::json;

fn params(pairs: &[(&str, Value)]) -> Params {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn objective(settings: Settings) -> Box<dyn Objective> {
    Mlp.create(&settings).expect("valid settings")
}

fn small_net(epochs: i64) -> Params {
    params(&[
        ("lr", 0.01.into()),
        ("layers", 1.into()),
        ("units_1", 16.into()),
        ("batch_size", 16.into()),
        ("epochs", epochs.into()),
    ])
}

fn run(
    objective: &dyn Objective,
    p: &Params,
) -> (Result<Evaluation, TrialError>, RecordingContext) {
    let mut ctx = RecordingContext::new(7);
    let out = objective.evaluate(p, &mut ctx);
    (out, ctx)
}

fn attr(e: &Evaluation, key: &str) -> f64 {
    e.attrs[key].as_f64().unwrap_or(f64::NAN)
}

#[test]
fn a_small_network_learns_iris_and_reports_every_epoch() {
    let obj = objective(
        Settings::default()
            .with("dataset", "iris")
            .with("folds", 3)
            .with("metrics", json!(["accuracy", "log_loss", "params"])),
    );
    let (out, ctx) = run(&*obj, &small_net(15));
    let e = out.unwrap();
    assert!(
        e.values[0] > 0.85,
        "accuracy {} (chance is 1/3)",
        e.values[0]
    );
    assert!(
        e.values[1] < 0.5,
        "log loss {} (chance is ln 3 = 1.10)",
        e.values[1]
    );
    // 4 → 16 → 3: 4·16 + 16 + 16·3 + 3.
    assert_eq!(e.values[2], 131.0);
    assert_eq!(e.attrs["params"], Value::Int(131));
    assert_eq!(e.attrs["epochs"], Value::Int(15));
    assert_eq!(e.attrs["backend"], Value::Str("candle-cpu".into()));
    assert_eq!(attr(&e, "accuracy"), e.values[0]);
    assert!(attr(&e, "accuracy_std") >= 0.0 && attr(&e, "accuracy_std") < 0.2);
    assert!(attr(&e, "train_time") > 0.0);
    // One report per epoch, steps from 1, the last equal to the result; accuracy rose.
    let steps: Vec<u64> = ctx.reports.iter().map(|r| r.0).collect();
    assert_eq!(steps, (1..=15).collect::<Vec<_>>());
    assert_eq!(ctx.reports[14].1, e.values[0]);
    assert!(ctx.reports[14].1 > ctx.reports[0].1);
}

#[test]
fn the_same_seed_and_parameters_give_the_same_result() {
    let settings = Settings::default()
        .with("dataset", "wine")
        .with("folds", 3)
        .with("metrics", json!(["log_loss", "accuracy"]));
    let p = params(&[
        ("lr", 0.003.into()),
        ("layers", 2.into()),
        ("units_1", 12.into()),
        ("units_2", 9.into()),
        ("dropout", 0.3.into()),
        ("l1", 1e-4.into()),
        ("l2", 1e-3.into()),
        ("optimizer", "adam".into()),
        ("activation", "gelu".into()),
        ("epochs", 4.into()),
    ]);
    let a = run(&*objective(settings.clone()), &p);
    let b = run(&*objective(settings.clone()), &p);
    let (a, b) = (a.0.unwrap(), b.0.unwrap());
    assert_eq!(a.values, b.values);
    assert_eq!(a.attrs["log_loss_std"], b.attrs["log_loss_std"]);
    // Folds trained in parallel give the same numbers as one after another.
    let c = run(&*objective(settings.clone().with("threads", 2)), &p)
        .0
        .unwrap();
    assert_eq!(a.values, c.values);
    // Another seed: other folds, other initial weights.
    let d = run(&*objective(settings.with("seed", 1)), &p).0.unwrap();
    assert_ne!(a.values, d.values);
}

#[test]
fn the_resource_a_trial_is_started_with_sets_its_epochs() {
    let obj = objective(Settings::default().with("dataset", "iris").with("folds", 2));
    let mut ctx = RecordingContext {
        resource: Some(3),
        ..RecordingContext::new(7)
    };
    let eval = obj.evaluate(&small_net(50), &mut ctx).unwrap();
    let steps: Vec<u64> = ctx.reports.iter().map(|r| r.0).collect();
    assert_eq!(
        steps,
        [1, 2, 3],
        "three epochs, whatever the parameters say"
    );
    assert_eq!(eval.attrs["epochs"], hyperplug_core::Value::Int(3));
}

#[test]
fn pruning_stops_training_after_the_epoch_it_is_asked() {
    let obj = objective(Settings::default().with("dataset", "iris").with("folds", 2));
    let mut ctx = RecordingContext {
        prune_after: Some(2),
        ..RecordingContext::new(7)
    };
    let out = obj.evaluate(&small_net(50), &mut ctx);
    assert_eq!(out, Err(TrialError::Pruned));
    let steps: Vec<u64> = ctx.reports.iter().map(|r| r.0).collect();
    assert_eq!(steps, [1, 2]);
}

#[test]
fn regression_on_diabetes_explains_variance() {
    let obj = objective(
        Settings::default()
            .with("dataset", "diabetes")
            .with("folds", 3)
            .with("metrics", json!(["rmse", "r2", "r2_std", "train_time"])),
    );
    assert_eq!(
        obj.metrics()
            .iter()
            .map(|m| (m.name.as_str(), m.direction.to_string()))
            .collect::<Vec<_>>(),
        [
            ("rmse", "minimize".to_string()),
            ("r2", "maximize".to_string()),
            ("r2_std", "minimize".to_string()),
            ("train_time", "minimize".to_string())
        ]
    );
    let (out, _) = run(&*obj, &small_net(20));
    let e = out.unwrap();
    // The target's deviation is about 77; a linear model reaches an RMSE near 55 and R² near 0.5.
    assert!(e.values[0] < 65.0, "rmse {}", e.values[0]);
    assert!(e.values[1] > 0.3, "r2 {}", e.values[1]);
    assert_eq!(e.values[3], attr(&e, "train_time"));
}

#[test]
fn diverging_and_malformed_trials_fail_with_a_reason() {
    let obj = objective(Settings::default().with("dataset", "iris").with("folds", 2));
    let mut p = small_net(5);
    p.insert("optimizer".into(), "sgd".into());
    p.insert("lr".into(), 1e12.into());
    let Err(TrialError::Failed(msg)) = run(&*obj, &p).0 else {
        panic!("an lr of 1e12 diverges");
    };
    assert!(
        msg.starts_with("training diverged at epoch 1, fold 1"),
        "{msg}"
    );
    let Err(TrialError::Failed(msg)) = run(&*obj, &params(&[("learning_rate", 0.1.into())])).0
    else {
        panic!("an unknown parameter fails");
    };
    assert!(
        msg.starts_with("parameter `learning_rate` is not one the mlp reads"),
        "{msg}"
    );
}

#[test]
fn settings_are_checked_by_name() {
    let err = |s: Settings| Mlp.create(&s).err().expect("refused").to_string();
    assert_eq!(
        err(Settings::default().with("dataset", "mnist")),
        "invalid settings for `mlp`: `dataset` = \"mnist\" is not bundled; use one of digits, breast_cancer, wine, iris, diabetes, or `csv` for a file"
    );
    assert_eq!(
        err(Settings::default()
            .with("dataset", "diabetes")
            .with("metrics", json!(["accuracy"]))),
        "invalid settings for `mlp`: `metrics`: `accuracy` judges classification, but diabetes is a regression dataset; use rmse or r2"
    );
    assert!(
        err(Settings::default().with("metrics", json!(["f1"]))).contains("unknown metric `f1`")
    );
    assert!(err(Settings::default().with("folds", 1)).contains("`folds` must be at least 2"));
    assert!(err(Settings::default().with("epochs", 3)).contains("unknown field `epochs`"));
    assert!(err(Settings::default().with("threads", 0)).contains("`threads` must be between 1"));
    assert!(
        err(Settings::default()
            .with("csv", "x.csv")
            .with("dataset", "iris"))
        .contains("not both")
    );
    assert!(err(Settings::default().with("space", "mine")).contains("use \"default\""));
    // `space = "study"` hands the space to the study file.
    let obj = objective(Settings::default().with("space", "study"));
    assert!(obj.space().is_none());
    assert_eq!(obj.metrics()[0].name, "accuracy");
}

#[test]
fn csv_files_load_with_their_target_and_errors_name_the_cell() {
    let dir = std::env::temp_dir().join(format!("hyperplug-nn-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.csv");
    // Two well-separated blobs: a network gets them all right.
    let mut text = String::from("u,v,kind\n");
    for i in 0..40 {
        let (c, label) = if i % 2 == 0 {
            (-3.0, "left")
        } else {
            (3.0, "right")
        };
        text.push_str(&format!(
            "{},{},{label}\n",
            c + (i % 5) as f64 * 0.1,
            (i % 7) as f64 * 0.1
        ));
    }
    std::fs::write(&good, text).unwrap();
    let obj = objective(
        Settings::default()
            .with("csv", good.display().to_string())
            .with("target", "kind")
            .with("folds", 4),
    );
    let e = run(&*obj, &small_net(10)).0.unwrap();
    assert_eq!(e.values[0], 1.0);

    let err = |s: Settings| Mlp.create(&s).err().expect("refused").to_string();
    let csv = Settings::default().with("csv", good.display().to_string());
    assert_eq!(
        err(csv.clone().with("target", "label")),
        format!(
            "invalid settings for `mlp`: {}: there is no column `label` to predict; the columns are: u, v, kind",
            good.display()
        )
    );
    assert!(
        err(csv)
            .contains("`target` is required with `csv`: name the column to predict (the header of")
    );
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "u,v,kind\n1,2,a\n3,n/a,b\n").unwrap();
    assert_eq!(
        err(Settings::default()
            .with("csv", bad.display().to_string())
            .with("target", "kind")),
        format!(
            "invalid settings for `mlp`: {}: line 3, column `v`: `n/a` is not a number",
            bad.display()
        )
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_architecture_mode_builds_each_layer_as_asked() {
    let obj = objective(
        Settings::default()
            .with("dataset", "wine")
            .with("folds", 3)
            .with("space", "study"),
    );
    let base = [
        ("lr", Value::from(0.01)),
        ("layers", 2.into()),
        ("units_1", 12.into()),
        ("units_2", 9.into()),
        ("dropout", 0.2.into()),
        ("activation", "gelu".into()),
        ("epochs", 8.into()),
    ];
    let with = |extra: &[(&str, Value)]| {
        let mut p = params(&base);
        p.extend(params(extra));
        run(&*obj, &p).0
    };
    let uniform = with(&[]).expect("trains");
    // Per-layer choices equal to the global ones build the same network from the same draws.
    let same = with(&[
        ("activation_1", "gelu".into()),
        ("activation_2", "gelu".into()),
        ("dropout_1", 0.2.into()),
        ("skip_2", false.into()),
    ])
    .expect("trains");
    assert_eq!(uniform.values, same.values);
    // A shortcut from 12 to 9 units (cut to width) and another activation change the result,
    // and still learn wine well above chance (about 0.40).
    let skip = with(&[("skip_2", true.into())]).expect("trains");
    assert_ne!(skip.values, uniform.values);
    let mixed =
        with(&[("activation_1", "tanh".into()), ("dropout_2", 0.0.into())]).expect("trains");
    assert_ne!(mixed.values, uniform.values);
    assert!(
        skip.values[0] > 0.6 && mixed.values[0] > 0.6,
        "{skip:?} {mixed:?}"
    );
    // A widening shortcut (zero-padded input) trains as well.
    let mut wide = params(&base);
    wide.insert("units_2".into(), 20.into());
    wide.insert("skip_2".into(), true.into());
    assert!(run(&*obj, &wide).0.expect("trains").values[0] > 0.6);
    // A layer that does not exist, or a skip that is not a boolean, is named.
    let e = with(&[("skip_3", true.into())]).expect_err("layer 3 does not exist");
    assert!(
        e.to_string()
            .contains("parameter `skip_3` is given but `layers` = 2"),
        "{e}"
    );
    let e = with(&[("skip_1", 1.into())]).expect_err("not a boolean");
    assert!(
        e.to_string()
            .contains("`skip_1` is 1; it must be true or false"),
        "{e}"
    );
    let e = with(&[("activation_2", "swish".into())]).expect_err("unknown activation");
    assert!(
        e.to_string().contains("`activation_2` is swish; use"),
        "{e}"
    );
}
