//! Plugin libraries: loading, replacing bundled ones, several in one process, and refusing the
//! fixtures that are built to fail.

use std::path::Path;

use hyperplug::config::StudyFile;
use hyperplug::plugin::{LoadError, load};
use hyperplug::resources::Machine;
use hyperplug::run::{Report, prepare, run};
use hyperplug::{Registry, Source, TrialState};

use crate::{assert_clean_failure, hyperplug, library, plugin_dir, report, text, write};

#[test]
fn a_library_built_against_another_abi_version_is_refused() {
    let lib = library("hyperplug-fixture-wrong-version");
    match load(&lib) {
        Err(LoadError::Version {
            found, expected, ..
        }) => {
            assert_eq!(found, "0.0.1");
            assert_eq!(expected, hyperplug_abi::ABI_VERSION);
        }
        other => panic!("expected a version error, got {:?}", other.err()),
    }
    let out = hyperplug(
        &["plugins", "check", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    assert_clean_failure(
        &out,
        &["built against plugin ABI 0.0.1", "rebuild the plugin"],
    );
}

#[test]
fn a_library_with_a_changed_layout_is_refused_with_the_checkers_error_lines() {
    let lib = library("hyperplug-fixture-wrong-layout");
    let err = match load(&lib) {
        Err(e @ LoadError::Layout { .. }) => e,
        other => panic!("expected a layout error, got {:?}", other.err()),
    };
    let LoadError::Layout {
        summary, details, ..
    } = &err
    else {
        unreachable!()
    };
    assert!(
        summary
            .lines()
            .all(|l| l.trim_start().starts_with("Error:") || l.contains("more")),
        "{summary}"
    );
    assert!(!summary.is_empty());
    assert!(
        details.len() > summary.len(),
        "the full report goes to the log"
    );
    let out = hyperplug(
        &["plugins", "check", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    let stderr = assert_clean_failure(&out, &["different layout", "Error:"]);
    assert!(
        stderr.lines().count() < 30,
        "the user sees a summary, not the report:\n{stderr}"
    );
}

#[test]
fn a_shared_library_without_a_root_module_is_not_a_plugin() {
    let lib = library("hyperplug-fixture-not-a-plugin");
    assert!(matches!(load(&lib), Err(LoadError::NotAPlugin { .. })));
    let out = hyperplug(
        &["plugins", "check", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    assert_clean_failure(&out, &["not a hyperplug plugin", "export_plugin!"]);
}

#[test]
fn a_file_that_is_no_library_at_all_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fake = write(dir.path(), "libfake.so", "not an ELF file\n");
    assert!(matches!(
        load(Path::new(&fake)),
        Err(LoadError::Open { .. })
    ));
    let out = hyperplug(&["plugins", "check", &fake], dir.path(), &[]);
    assert_clean_failure(&out, &["cannot be opened as a shared library"]);
}

#[test]
fn a_broken_library_on_the_plugin_path_is_skipped_and_the_rest_load() {
    let dir = plugin_dir(&[
        "hyperplug-fixture-wrong-version",
        "hyperplug-example-sampler",
    ]);
    let out = hyperplug(
        &["plugins", "list"],
        Path::new("."),
        &[("HYPERPLUG_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("local-search"), "{stdout}");
    assert!(
        stdout.contains("failed to load") && stdout.contains("0.0.1"),
        "{stdout}"
    );
}

#[test]
fn plugins_list_shows_bundled_and_loaded_with_version_source_and_capabilities() {
    let dir = plugin_dir(&["hyperplug-example-library"]);
    let out = hyperplug(
        &[
            "plugins",
            "list",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
        Path::new("."),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no line for {name}:\n{stdout}"))
            .to_owned()
    };
    let random = line("random");
    assert!(
        random.contains("bundled") && random.contains("categorical") && random.contains("parallel"),
        "{random}"
    );
    let halton = line("halton");
    assert!(
        halton.contains("1.2.0") && halton.contains("libhyperplug_example_library"),
        "{halton}"
    );
    let bowl = line("bowl");
    assert!(
        bowl.starts_with("objective") && bowl.contains("libhyperplug_example_library"),
        "{bowl}"
    );
    assert!(line("branin").contains("bundled"));
}

#[test]
fn a_plugin_with_a_bundled_name_replaces_it_and_the_log_says_so() {
    let dir = plugin_dir(&["hyperplug-plugin-random"]);
    let study_dir = tempfile::tempdir().unwrap();
    let study = write(
        study_dir.path(),
        "s.toml",
        "[study]\ntrials = 12\nseed = 4\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n",
    );
    // In memory: the same study twice is two runs, not one continued.
    let bundled = report(&hyperplug(
        &["run", &study, "--json", "--storage", "memory"],
        study_dir.path(),
        &[],
    ));
    let out = hyperplug(
        &[
            "run",
            &study,
            "--json",
            "--storage",
            "memory",
            "--plugin-dir",
            dir.path().to_str().unwrap(),
        ],
        study_dir.path(),
        &[],
    );
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("strategy `random`") && stderr.contains("replaces version"),
        "{stderr}"
    );
    let plugin = report(&out);
    // The same algorithm behind the ABI gives the very same trials.
    assert_eq!(bundled["trials"].as_array().unwrap().len(), 12);
    let params = |r: &serde_json::Value| -> Vec<serde_json::Value> {
        r["trials"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["params"].clone())
            .collect()
    };
    assert_eq!(params(&bundled), params(&plugin));
}

#[test]
fn two_strategy_libraries_and_an_objective_library_run_in_one_process() {
    let mut registry = Registry::bundled();
    for p in [
        "hyperplug-example-sampler",
        "hyperplug-example-library",
        "hyperplug-plugin-synthetic",
    ] {
        registry
            .load_library(&library(p))
            .unwrap_or_else(|e| panic!("{p}: {e}"));
    }
    let from = |name: &str| match &registry.strategy(name).unwrap().source {
        Source::Plugin(p) => p.file_name().unwrap().to_string_lossy().into_owned(),
        Source::Bundled => "bundled".into(),
    };
    assert!(from("local-search").contains("example_sampler"));
    assert!(from("halton").contains("example_library"));
    assert!(from("latin-hypercube").contains("example_library"));
    assert!(matches!(
        registry.objective("hartmann6").unwrap().source,
        Source::Plugin(_)
    ));

    for strategy in ["local-search", "halton", "latin-hypercube", "random"] {
        let text = format!(
            "[study]\ntrials = 80\nseed = 9\nstorage = \"memory\"\n[strategy]\nname = \"{strategy}\"\n[objective]\nname = \"hartmann6\"\n"
        );
        let file = StudyFile::parse(Path::new("s.toml"), &text).unwrap();
        let mut prepared = prepare(&file, &registry, &Machine::detect()).unwrap();
        run(&mut prepared, &mut ()).unwrap();
        let r = Report::of(&prepared.study, "hartmann6");
        assert_eq!(r.counts.complete, 80, "{strategy}");
        let best = r.best_trials[0].values[0];
        // Hartmann-6 lies in [-3.33, 0]; 80 trials of any of these reach well below -1.
        assert!((-3.3224..-1.0).contains(&best), "{strategy}: best {best}");
    }
}

#[test]
fn several_plugin_libraries_on_the_cli_plugin_path() {
    let dir = plugin_dir(&["hyperplug-example-sampler", "hyperplug-example-library"]);
    let study_dir = tempfile::tempdir().unwrap();
    for strategy in ["local-search", "halton"] {
        let study = write(
            study_dir.path(),
            "s.toml",
            &format!(
                "[study]\ntrials = 20\nseed = 1\n[strategy]\nname = \"{strategy}\"\n[objective]\nname = \"bowl\"\ndim = 2\n"
            ),
        );
        let r = report(&hyperplug(
            &["run", &study, "--json", "--storage", "memory"],
            study_dir.path(),
            &[("HYPERPLUG_PLUGIN_PATH", dir.path().to_str().unwrap())],
        ));
        assert_eq!(r["strategy"], strategy);
        assert_eq!(r["counts"]["complete"], 20);
        assert!(r["best_trials"][0]["values"][0].as_f64().unwrap() < 0.5);
    }
}

#[test]
fn a_strategy_that_lacks_a_capability_is_refused_before_the_first_trial() {
    let dir = plugin_dir(&["hyperplug-example-sampler"]);
    let study_dir = tempfile::tempdir().unwrap();
    let study = write(
        study_dir.path(),
        "s.toml",
        "[study]\ntrials = 20\n[strategy]\nname = \"local-search\"\n[objective]\nname = \"zdt2\"\n",
    );
    let out = hyperplug(
        &["run", &study, "--plugin-dir", dir.path().to_str().unwrap()],
        study_dir.path(),
        &[],
    );
    let err = assert_clean_failure(
        &out,
        &["local-search", "does not support several objectives"],
    );
    assert!(!err.contains("trial 0"), "{err}");
}

/// Runs the study `text` with the panicking fixture library on the plugin path.
fn run_with_panicking_fixture(text: &str, args: &[&str]) -> std::process::Output {
    let dir = plugin_dir(&["hyperplug-fixture-panicking"]);
    let study = write(dir.path(), "s.toml", text);
    let plugins = dir.path().to_str().expect("a UTF-8 temporary path");
    let mut all = vec!["run", study.as_str(), "--plugin-dir", plugins];
    all.extend_from_slice(args);
    hyperplug(&all, dir.path(), &[])
}

#[test]
fn a_panicking_strategy_fails_its_trials_and_the_study_goes_on() {
    let out = run_with_panicking_fixture(
        "[study]\ntrials = 10\nseed = 0\n[strategy]\nname = \"panicking\"\npanic_in = \"ask\"\nevery = 2\n[objective]\nname = \"branin\"\n",
        &["--json"],
    );
    let r = report(&out);
    assert_eq!(r["counts"]["failed"], 5);
    assert_eq!(r["counts"]["complete"], 5);
    let failed: Vec<&serde_json::Value> = r["trials"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["state"] == "failed")
        .collect();
    for t in &failed {
        let msg = t["message"].as_str().unwrap();
        assert!(
            msg.contains("panicked") && msg.contains("deliberate panic in ask"),
            "{msg}"
        );
        assert!(t["number"].as_u64().unwrap() % 2 == 0);
    }
}

#[test]
fn a_panicking_objective_fails_its_trials_and_the_study_goes_on() {
    let r = report(&run_with_panicking_fixture(
        "[study]\ntrials = 9\nseed = 0\n[objective]\nname = \"panicking\"\npanic_in = \"evaluate\"\nevery = 3\n",
        &["--json"],
    ));
    assert_eq!(r["counts"]["failed"], 3);
    assert_eq!(r["counts"]["complete"], 6);
    let msg = r["trials"][3]["message"].as_str().unwrap();
    assert!(
        msg.contains("the objective panicked: deliberate panic in evaluate at trial 3"),
        "{msg}"
    );
}

#[test]
fn an_objective_that_panics_declaring_its_resources_is_refused_before_any_trial() {
    let out = run_with_panicking_fixture(
        "[study]\ntrials = 3\nseed = 0\nstorage = \"memory\"\n[objective]\nname = \"panicking\"\npanic_in = \"resources\"\n",
        &[],
    );
    assert_clean_failure(
        &out,
        &[
            "cannot create objective `panicking`",
            "panicked",
            "deliberate panic in resources",
        ],
    );
}

#[test]
fn a_strategy_that_panics_in_tell_loses_no_result() {
    let mut registry = Registry::bundled();
    registry
        .load_library(&library("hyperplug-fixture-panicking"))
        .unwrap();
    let file = StudyFile::parse(
        Path::new("s.toml"),
        "[study]\ntrials = 6\nseed = 0\nstorage = \"memory\"\n[strategy]\nname = \"panicking\"\npanic_in = \"tell\"\n[objective]\nname = \"branin\"\n",
    )
    .unwrap();
    let mut prepared = prepare(&file, &registry, &Machine::detect()).unwrap();
    struct Errors(usize);
    impl hyperplug::Observer for Errors {
        fn strategy_error(&mut self, e: &hyperplug::Error) {
            assert!(e.to_string().contains("deliberate panic in tell"), "{e}");
            self.0 += 1;
        }
    }
    let mut errors = Errors(0);
    run(&mut prepared, &mut errors).unwrap();
    assert_eq!(errors.0, 6);
    let study = &prepared.study;
    assert_eq!(study.finished().len(), 6);
    assert!(
        study
            .finished()
            .iter()
            .all(|t| t.state == TrialState::Complete)
    );
}

#[test]
fn a_strategy_that_panics_when_created_refuses_the_study_cleanly() {
    let out = run_with_panicking_fixture(
        "[study]\ntrials = 3\n[strategy]\nname = \"panicking\"\npanic_in = \"create\"\n[objective]\nname = \"branin\"\n",
        &[],
    );
    assert_clean_failure(
        &out,
        &["`panicking` panicked", "deliberate panic in create"],
    );
}

#[test]
fn a_plugins_log_records_reach_the_hosts_log_filtered_by_the_hosts_level() {
    let dir = plugin_dir(&["hyperplug-example-sampler"]);
    let plugins = dir.path().to_str().unwrap();
    let study = write(
        dir.path(),
        "s.toml",
        "[study]\ntrials = 2\nseed = 1\nstorage = \"memory\"\n[strategy]\nname = \"local-search\"\nsigma = 0.25\n[objective]\nname = \"branin\"\n",
    );
    let run = |verbose: &[&str], env: &[(&str, &str)]| {
        let mut args = verbose.to_vec();
        args.extend(["run", &study, "--plugin-dir", plugins]);
        let out = hyperplug(&args, dir.path(), env);
        let (_, stderr) = text(&out);
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    // The sampler's debug line, written by the host's logger in the host's format.
    let line = "[DEBUG] local-search: sigma 0.25, explore 0.2, startup 10";

    let stderr = run(&["-v"], &[]);
    assert!(stderr.lines().any(|l| l == line), "{stderr}");
    assert!(stderr.contains("[INFO ] trial 1 complete"), "{stderr}");

    // At the default level (info, stderr being no terminal) the plugin's debug line stays in the
    // plugin, while the host's info lines are written.
    let stderr = run(&[], &[]);
    assert!(stderr.contains("[INFO ] trial 1 complete"), "{stderr}");
    assert!(!stderr.contains("local-search: sigma"), "{stderr}");

    // RUST_LOG filters plugin records by their module path as it does the host's.
    let stderr = run(&[], &[("RUST_LOG", "hyperplug_example_sampler=debug")]);
    assert!(stderr.lines().any(|l| l == line), "{stderr}");
    assert!(!stderr.contains("[INFO ]"), "{stderr}");
}
