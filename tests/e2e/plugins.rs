//! Plugin libraries: loading, replacing bundled ones, several in one process, and refusing the
//! fixtures that are built to fail.

use std::path::Path;

use hyperplug_engine::config::StudyFile;
use hyperplug_engine::plugin::{LoadError, load};
use hyperplug_engine::resources::Machine;
use hyperplug_engine::run::{prepare, run};
use hyperplug_engine::{Registry, Source, TrialState};

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
        &[
            "built against plugin ABI 0.0.1, older than this hyperplug's ABI 1.3.0",
            "it loads libraries built against ABI 1.x",
            "rebuild the plugin against a hyperplug-sdk for ABI 1.x",
        ],
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
fn a_library_exporting_names_no_study_file_can_use_is_refused_naming_each() {
    // `plugins check` called it "a valid hyperplug plugin" (exit 0) and then listed neither the
    // strategy it skipped nor the objective hidden by its twin.
    let lib = library("hyperplug-fixture-misnamed");
    assert!(matches!(load(&lib), Err(LoadError::Names { problems, .. }) if problems.len() == 2));
    let out = hyperplug(
        &["plugins", "check", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    assert_clean_failure(
        &out,
        &[
            "exports names a study file cannot use",
            "strategy `my sampler` is not a usable name",
            "more than one objective is named `twice`",
            "rebuild",
        ],
    );
    let dir = plugin_dir(&["hyperplug-fixture-misnamed"]);
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
    assert!(
        stderr.contains("skipping plugin library") && stderr.contains("`my sampler`"),
        "{stderr}"
    );
    assert!(
        stdout.contains("failed to load") && !stdout.contains("misnamed (test fixture)"),
        "{stdout}"
    );
}

#[test]
fn a_file_that_is_no_library_at_all_is_refused_before_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let fake = write(dir.path(), "libfake.so", "not an ELF file\n");
    assert!(matches!(
        load(Path::new(&fake)),
        Err(LoadError::Malformed { .. })
    ));
    let out = hyperplug(&["plugins", "check", &fake], dir.path(), &[]);
    assert_clean_failure(
        &out,
        &["not a usable shared library", "not a shared library"],
    );
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
fn a_plugin_path_entry_that_is_no_readable_directory_is_warned_about() {
    // A library's own path given as a plugin directory: it was left out with a debug line only,
    // and the study then met "unknown strategy" without a word on why.
    let dir = plugin_dir(&["hyperplug-example-sampler"]);
    let lib = dir
        .path()
        .join(library("hyperplug-example-sampler").file_name().unwrap());
    let out = hyperplug(
        &["plugins", "list"],
        Path::new("."),
        &[("HYPERPLUG_PLUGIN_PATH", lib.to_str().unwrap())],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains("local-search"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "plugin directory {}: cannot be read",
            lib.display()
        )) && stderr.contains("directories, not files"),
        "{stderr}"
    );
    // A directory that does not exist is what `PATH` tolerates: no warning.
    let out = hyperplug(
        &["plugins", "list"],
        Path::new("."),
        &[("HYPERPLUG_PLUGIN_PATH", "/nonexistent/hyperplug-plugins")],
    );
    let (_, stderr) = text(&out);
    assert!(out.status.success() && !stderr.contains("WARN"), "{stderr}");
}

#[test]
fn a_directory_named_twice_on_the_plugin_path_loads_its_libraries_once() {
    // It registered every name a second time, warning that the library exports it "by both"
    // itself and itself, and `plugins list` said it replaced itself.
    let dir = plugin_dir(&["hyperplug-example-sampler"]);
    let path = dir.path().to_str().unwrap();
    let out = hyperplug(
        &["plugins", "list", "--plugin-dir", path],
        Path::new("."),
        &[("HYPERPLUG_PLUGIN_PATH", path)],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("local-search"), "{stdout}");
    assert!(!stderr.contains("exported by both"), "{stderr}");
    assert!(!stdout.contains("replaces"), "{stdout}");
    assert_eq!(
        stdout.matches("libhyperplug_example_sampler").count(),
        2,
        "{stdout}"
    );

    // A link to a library beside it (a versioned name, `libx.so -> libx.so.1`) is the same
    // library, loaded once.
    let lib = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.is_file())
        .unwrap();
    std::os::unix::fs::symlink(&lib, dir.path().join("libzz_linked.so")).unwrap();
    let out = hyperplug(
        &["plugins", "list", "--plugin-dir", path],
        Path::new("."),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("local-search"), "{stdout}");
    assert!(!stderr.contains("exported by both"), "{stderr}");
    assert!(
        !stdout.contains("replaces") && !stdout.contains("libzz_linked"),
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
    let warning = stderr
        .lines()
        .find(|l| l.contains("replaces the bundled `random`"))
        .unwrap_or_else(|| panic!("no warning:\n{stderr}"));
    assert!(
        warning.contains("WARN") && warning.contains("libhyperplug_plugin_random"),
        "{warning}"
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
        let r = prepared.study_data();
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
        assert_eq!(r["study"]["strategy"], strategy);
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
    impl hyperplug_engine::Observer for Errors {
        fn strategy_error(&mut self, e: &hyperplug_engine::Error) {
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
fn a_strategy_objective_and_pruner_that_panic_when_dropped_end_nothing_but_a_warning() {
    // The host drops them through the ABI after the study; a panic escaping there used to abort
    // the host ("Attempted to panic across the ffi boundary") after its results were stored.
    let out = run_with_panicking_fixture(
        "[study]\ntrials = 3\nseed = 0\nstorage = \"memory\"\n[strategy]\nname = \"panicking\"\npanic_in = \"drop\"\n[objective]\nname = \"panicking\"\npanic_in = \"drop\"\n[pruner]\nname = \"panicking\"\npanic_in = \"drop\"\n",
        &["--json"],
    );
    let r = report(&out);
    assert_eq!(r["counts"]["complete"], 3);
    let (_, stderr) = text(&out);
    for kind in ["strategy", "objective", "pruner"] {
        assert!(
            stderr.contains(&format!(
                "{kind} `panicking` panicked while being dropped: deliberate panic in drop at trial 0 (at "
            )),
            "{kind}:\n{stderr}"
        );
    }
    assert!(!stderr.contains("ffi boundary"), "{stderr}");
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

#[test]
fn a_library_built_against_the_previous_abi_minor_version_loads_and_runs() {
    let lib_path = library("hyperplug-fixture-abi-1-0");
    let lib = load(&lib_path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lib.abi_version, "1.0.0");
    assert_eq!(hyperplug_abi::ABI_VERSION, "1.3.0");
    assert!(
        lib.info.is_none(),
        "ABI 1.0 libraries do not say their version"
    );
    let names: Vec<String> = lib.strategies.iter().map(|f| f.info().name).collect();
    assert_eq!(names, ["random"]);
    // The whole suite, through the 1.0 library.
    hyperplug_testkit::check_strategy(&*lib.strategies[0], &hyperplug_engine::Settings::default());

    let out = hyperplug(
        &["plugins", "check", lib_path.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("built against plugin ABI 1.0.0")
            && stdout.contains("its own version unknown")
            && stdout.contains("this hyperplug speaks plugin ABI 1.3.0"),
        "{stdout}"
    );
}

/// A library built against ABI 1.2, before 1.3 added methods to the trial context and the
/// pruner, loads (checked against the frozen 1.2 module and its frozen traits) and runs: its
/// pruner is asked through `prune` (the default of `prune_values`, which its vtable lacks) and
/// its objective reports through the 1.2 view of the host's context.
#[test]
fn a_library_built_against_abi_1_2_loads_and_its_pruner_and_objective_run() {
    use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
    let lib = load(&library("hyperplug-fixture-abi-1-2")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(lib.abi_version, "1.2.0");
    let pruner = &lib.pruners[0];
    let objective = lib.objectives[0]
        .create(&Settings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let registry = Registry::bundled();
    let random = registry
        .strategies()
        .iter()
        .find(|e| e.info.name == "random")
        .expect("random is bundled");
    let space = Space::new(vec![Param::new("x", Domain::float(0.0, 1.0))]).expect("a space");
    let config = StudyConfig::new("old", space, vec![Direction::Minimize]).seed(1);
    let mut study = Study::new(config, &*random.factory, &Settings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    study
        .set_pruner(&**pruner, &Settings::default())
        .unwrap_or_else(|e| panic!("{e}"));
    study
        .optimize(&*objective, Budget::trials(4), &mut ())
        .unwrap_or_else(|e| panic!("{e}"));
    for t in study.finished() {
        assert_eq!(t.state, TrialState::Pruned, "{t:?}");
        assert_eq!(t.intermediate.len(), 2, "stopped at step 2: {t:?}");
    }
    assert_eq!(study.finished().len(), 4);
}

#[test]
fn plugins_check_and_list_print_the_librarys_own_abi_and_plugin_versions() {
    let lib = library("hyperplug-example-library");
    let out = hyperplug(
        &["plugins", "check", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains(
            "a valid hyperplug plugin: hyperplug-example-library 1.2.0, built against plugin ABI 1.3.0 with hyperplug-sdk 0.2.0"
        ),
        "{stdout}"
    );
    let dir = plugin_dir(&["hyperplug-example-library", "hyperplug-fixture-abi-1-0"]);
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
    let libraries = stdout.split("libraries:").nth(1).unwrap_or_default();
    assert!(
        libraries.contains("libhyperplug_example_library")
            && libraries
                .contains("hyperplug-example-library 1.2.0, built against plugin ABI 1.3.0")
            && libraries.contains("libhyperplug_fixture_abi_1_0")
            && libraries.contains("built against plugin ABI 1.0.0"),
        "{stdout}"
    );
}

/// The first `len` bytes of a real plugin library, as `head -c` would leave it.
fn truncated(dir: &Path, len: usize) -> String {
    let bytes = std::fs::read(library("hyperplug-plugin-random")).expect("read the library");
    let path = dir.join("libtruncated.so");
    std::fs::write(&path, &bytes[..len]).expect("write the cut copy");
    path.to_string_lossy().into_owned()
}

#[test]
fn a_truncated_library_is_refused_in_one_line_and_never_crashes_a_command() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::metadata(library("hyperplug-plugin-random"))
        .unwrap()
        .len() as usize;
    for len in [3000, 64, full / 2, full - 100] {
        let lib = truncated(dir.path(), len);
        assert!(
            matches!(load(Path::new(&lib)), Err(LoadError::Malformed { .. })),
            "{len} bytes"
        );
        let out = hyperplug(&["plugins", "check", "./libtruncated.so"], dir.path(), &[]);
        let err = assert_clean_failure(&out, &["libtruncated.so: not a usable shared library"]);
        assert_eq!(out.status.code(), Some(1), "{len} bytes: {err}");
        assert!(
            err.contains("truncated") || err.contains("cut short"),
            "{len} bytes: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line:\n{err}");
    }
    // On the plugin path it is skipped with a warning, and the study runs.
    truncated(dir.path(), 3000);
    let study_dir = tempfile::tempdir().unwrap();
    let study = write(
        study_dir.path(),
        "s.toml",
        "[study]\ntrials = 5\nseed = 1\n[strategy]\nname = \"random\"\n[objective]\nname = \"branin\"\n",
    );
    let out = hyperplug(
        &["run", &study, "--json", "--storage", "memory"],
        study_dir.path(),
        &[("HYPERPLUG_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("skipping plugin library") && stderr.contains("libtruncated.so"),
        "{stderr}"
    );
    assert_eq!(report(&out)["trials"].as_array().unwrap().len(), 5);
    let out = hyperplug(
        &["plugins", "list"],
        Path::new("."),
        &[("HYPERPLUG_PLUGIN_PATH", dir.path().to_str().unwrap())],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("failed to load") && stdout.contains("libtruncated.so"),
        "{stdout}"
    );
}

#[test]
fn a_plugin_path_is_a_file_path_never_a_search_of_the_system_library_path() {
    let dir = tempfile::tempdir().unwrap();
    // A system library by name: not a file here, so refused, never the system's libm.
    for name in ["libm.so.6", "libc.so.6", "libmine.so"] {
        assert!(
            matches!(load(Path::new(name)), Err(LoadError::Missing { .. })),
            "{name}"
        );
        let out = hyperplug(&["plugins", "check", name], dir.path(), &[]);
        assert_clean_failure(
            &out,
            &[
                &format!("{name}: no such plugin library"),
                "taken from the current directory",
            ],
        );
    }
    // The README's form: a bare file name in the current directory.
    let lib = library("hyperplug-plugin-random");
    let name = lib.file_name().unwrap().to_str().unwrap();
    std::fs::copy(&lib, dir.path().join(name)).unwrap();
    let out = hyperplug(&["plugins", "check", name], dir.path(), &[]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("a valid hyperplug plugin: hyperplug-plugin-random"),
        "{stdout}"
    );
    // A directory is not a library either.
    let out = hyperplug(&["plugins", "check", "."], dir.path(), &[]);
    assert_clean_failure(&out, &["no such plugin library (not a file)"]);
}

#[test]
fn two_libraries_exporting_one_name_warn_naming_both_and_a_study_file_can_pin_either() {
    // Both export `random`, as the bundled strategy does.
    let dir = plugin_dir(&["hyperplug-fixture-abi-1-0", "hyperplug-plugin-random"]);
    let plugin_path = [("HYPERPLUG_PLUGIN_PATH", dir.path().to_str().unwrap())];
    let out = hyperplug(&["plugins", "list"], Path::new("."), &plugin_path);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    let both = stderr
        .lines()
        .find(|l| l.contains("is exported by both"))
        .unwrap_or_else(|| panic!("no warning:\n{stderr}"));
    assert!(
        both.contains("WARN")
            && both.contains("libhyperplug_fixture_abi_1_0")
            && both.contains("libhyperplug_plugin_random"),
        "{both}"
    );
    // The later file name wins; the listing says what it replaced.
    let random = stdout
        .lines()
        .skip_while(|l| l.split_whitespace().nth(1) != Some("random"))
        .take(4)
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        random.contains("libhyperplug_plugin_random")
            && random.contains("(replaces `random` from bundled)")
            && random.contains("(replaces `random` from ")
            && random.contains("libhyperplug_fixture_abi_1_0.so)"),
        "{stdout}"
    );

    let study_dir = tempfile::tempdir().unwrap();
    let run_pinned = |pin: &str| {
        let study = write(
            study_dir.path(),
            "s.toml",
            &format!(
                "[study]\ntrials = 6\nseed = 3\n[strategy]\nname = \"random\"\nlibrary = \"{pin}\"\n[objective]\nname = \"branin\"\n"
            ),
        );
        hyperplug(
            &["run", &study, "--json", "--storage", "memory", "-v"],
            study_dir.path(),
            &plugin_path,
        )
    };
    for pin in [
        "bundled",
        "libhyperplug_fixture_abi_1_0.so",
        "hyperplug-plugin-random",
    ] {
        let out = run_pinned(pin);
        assert_eq!(report(&out)["trials"].as_array().unwrap().len(), 6, "{pin}");
    }
    let out = run_pinned("libnothere.so");
    assert_clean_failure(
        &out,
        &[
            "strategy `random` is pinned to library `libnothere.so`, which does not provide it",
            "bundled",
            "libhyperplug_plugin_random",
        ],
    );
    // The pin chooses the factory, which the registry shows by its source.
    let mut registry = Registry::bundled();
    registry.load_plugin_path(&[dir.path().to_path_buf()]);
    let source = |pin: Option<&str>| {
        registry
            .find_strategy("random", pin)
            .map(|e| e.source.clone())
    };
    assert_eq!(source(Some("bundled")), Ok(Source::Bundled));
    assert!(
        matches!(source(None), Ok(Source::Plugin(p)) if p.ends_with("libhyperplug_plugin_random.so"))
    );
    assert!(
        matches!(source(Some("libhyperplug_fixture_abi_1_0.so")), Ok(Source::Plugin(p)) if p.ends_with("libhyperplug_fixture_abi_1_0.so"))
    );
}

#[test]
fn plugins_check_conformance_runs_the_suite_through_the_library() {
    let lib = library("hyperplug-example-library");
    let out = hyperplug(
        &["plugins", "check", "--conformance", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for line in [
        "conformance: strategy `halton`: passed",
        "conformance: strategy `latin-hypercube`: passed",
        "conformance: objective `bowl`: passed",
        "conformance: all 3 passed through",
    ] {
        assert!(stdout.contains(line), "{line}:\n{stdout}");
    }
    // A library whose strategy panics fails the suite: named, and a non-zero exit.
    let lib = library("hyperplug-fixture-panicking");
    let out = hyperplug(
        &["plugins", "check", "--conformance", lib.to_str().unwrap()],
        Path::new("."),
        &[],
    );
    let (stdout, stderr) = text(&out);
    assert!(!out.status.success(), "{stdout}");
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(stderr.contains("failed the conformance suite"), "{stderr}");
    assert!(
        !stderr.contains("panicked at"),
        "the suite's panics stay quiet:\n{stderr}"
    );
}

/// The repository's root.
fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the host lives in the repository")
        .to_path_buf()
}

/// Copies `templates/<template>` out of the workspace, as an author would, pointing its
/// hyperplug dependencies at this checkout through `[patch.crates-io]` (the template itself asks
/// for the published versions), with this workspace's lock file so that nothing is fetched.
fn copy_template(template: &str, into: &Path) -> std::path::PathBuf {
    let from = repo().join("templates").join(template);
    let to = into.join(template);
    for entry in ["Cargo.toml", "src/lib.rs", "tests/library.rs"] {
        let dest = to.join(entry);
        std::fs::create_dir_all(dest.parent().expect("a folder")).expect("mkdir");
        std::fs::copy(from.join(entry), &dest).expect("copy the template");
    }
    let mut manifest = std::fs::read_to_string(to.join("Cargo.toml")).expect("manifest");
    manifest.push_str("\n[patch.crates-io]\n");
    for (krate, dir) in [
        ("hyperplug-sdk", "core/sdk"),
        ("hyperplug-testkit", "core/testkit"),
        ("hyperplug-abi", "core/abi"),
        ("hyperplug-core", "core/core"),
        ("hyperplug-loader", "host/loader"),
    ] {
        manifest.push_str(&format!(
            "{krate} = {{ path = {:?} }}\n",
            repo().join(dir).to_string_lossy()
        ));
    }
    std::fs::write(to.join("Cargo.toml"), manifest).expect("write manifest");
    std::fs::copy(repo().join("Cargo.lock"), to.join("Cargo.lock")).expect("copy the lock file");
    to
}

/// The templates build outside the workspace, test themselves through their own built library,
/// and load into the host, which runs the conformance suite on them and a study with them.
///
/// They build into this workspace's target folder, with its profile, so that only the template
/// crates and the five hyperplug crates they patch in are compiled (seconds); the dependencies
/// are already built.
#[test]
fn the_plugin_templates_build_from_a_copy_test_themselves_and_load_into_the_host() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = crate::bin()
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/hyperplug")
        .to_path_buf();
    let outside = tempfile::tempdir().expect("temp dir");
    for (template, package, name, kind) in [
        (
            "strategy-plugin",
            "my_strategy_plugin",
            "my-org/perturb",
            "strategy",
        ),
        (
            "objective-plugin",
            "my_objective_plugin",
            "my-org/valley",
            "objective",
        ),
    ] {
        let crate_dir = copy_template(template, outside.path());
        let out = std::process::Command::new(&cargo)
            .args(["test", "--offline", "--quiet"])
            .args(["--config", "profile.dev.debug=1"])
            .args(["--config", "profile.dev.package.\"*\".debug=false"])
            .current_dir(&crate_dir)
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("cargo runs");
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{template}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains("test the_built_library_passes_the_conformance_suite ... ok")
                || stdout.contains("test result: ok. 1 passed"),
            "{template}:\n{stdout}"
        );

        // `cargo test` leaves the library it built for the tests in deps/.
        let lib = target.join("debug").join("deps").join(format!(
            "{}{package}{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        ));
        let out = hyperplug(
            &[
                "plugins",
                "check",
                "--conformance",
                lib.to_str().expect("utf-8"),
            ],
            Path::new("."),
            &[],
        );
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{template}:\n{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("conformance: {kind} `{name}`: passed"))
                && stdout.contains(&format!(
                    "{} 0.1.0, built against plugin ABI {} with hyperplug-sdk 0.2.0",
                    package.replace('_', "-"),
                    hyperplug_abi::ABI_VERSION
                )),
            "{template}:\n{stdout}"
        );

        // A study names the vendor-qualified plugin like any bundled one.
        let plugins = tempfile::tempdir().expect("temp dir");
        std::fs::copy(&lib, plugins.path().join(lib.file_name().expect("file"))).expect("copy");
        let study_dir = tempfile::tempdir().expect("temp dir");
        let (strategy, objective) = match kind {
            "strategy" => (name, "branin"),
            _ => ("random", name),
        };
        let study = write(
            study_dir.path(),
            "s.toml",
            &format!(
                "[study]\ntrials = 12\nseed = 2\n[strategy]\nname = \"{strategy}\"\n[objective]\nname = \"{objective}\"\n"
            ),
        );
        let out = hyperplug(
            &["run", &study, "--json", "--storage", "memory"],
            study_dir.path(),
            &[(
                "HYPERPLUG_PLUGIN_PATH",
                plugins.path().to_str().expect("utf-8"),
            )],
        );
        let r = report(&out);
        assert_eq!(r["trials"].as_array().map(Vec::len), Some(12), "{template}");
        assert!(r["best_trials"][0]["values"][0].is_f64(), "{template}: {r}");
    }
}

#[test]
fn a_plugin_dir_that_is_not_a_directory_is_refused_rather_than_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "file.so", "not a directory");
    for given in ["no-such-dir", "file.so"] {
        let out = hyperplug(&["--plugin-dir", given, "plugins", "list"], dir.path(), &[]);
        assert_clean_failure(&out, &["--plugin-dir", given, "not a directory"]);
    }
    let out = hyperplug(&["--plugin-dir", ".", "plugins", "list"], dir.path(), &[]);
    assert!(out.status.success(), "{}", text(&out).1);
}
