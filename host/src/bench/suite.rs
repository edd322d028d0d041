//! A benchmark suite: strategies × problems × seeds × budgets, from a TOML file and/or flags.
//!
//! ```toml
//! seeds = 10                  # seeds 0..9; or a list [0, 3, 7]; or "5..15"
//! budgets = [100]             # trials per run; several budgets run separately
//!                             # (each seed and budget once; at most 100,000 seeds)
//!
//! [[strategy]]
//! name = "qmc"                # as the registry knows it; other keys are its settings
//! label = "qmc"               # the row name in reports; default the name
//!
//! [[problem]]
//! objective = "rosenbrock"    # any objective the registry knows
//! label = "rosenbrock10"      # default the objective's name
//! dim = 10                    # other keys are the objective's settings;
//!                             # the text "{seed}" becomes the run's seed
//!
//! [[problem]]
//! label = "my-script"
//! study = "bench/problems/my-script.toml"   # objective, settings, space, direction of a study file
//! ```
//!
//! Reserved problem keys: `label`, `objective`, `study`, `direction`, `quality_attr`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use hyperplug_core::{Direction, Settings, Space};
use serde::Deserialize;

use crate::config::StudyFile;

/// A strategy of the suite, with its settings.
#[derive(Clone, Debug, PartialEq)]
pub struct StrategySpec {
    /// The row name in reports.
    pub label: String,
    /// The registry name.
    pub name: String,
    /// Its settings.
    pub settings: Settings,
    /// The pruner that goes with it, and the pruner's settings: `pruner = { name = "...", ... }`
    /// in the strategy's table.
    pub pruner: Option<(String, Settings)>,
}

/// A problem of the suite: an objective with settings, and what the harness needs to know
/// beyond the objective itself.
#[derive(Clone, Debug, PartialEq)]
pub struct ProblemSpec {
    /// The name in reports.
    pub label: String,
    /// The registry name of the objective.
    pub objective: String,
    /// Its settings; a string value `"{seed}"` is replaced by the run's seed.
    pub settings: Settings,
    /// The space, when the objective does not define one (from a study file).
    pub space: Option<Space>,
    /// The direction, when the objective does not say (from a study file or `direction`).
    pub direction: Option<Direction>,
    /// The trial attribute that holds a trial's true quality (e.g. `mean_val_acc`); default:
    /// `mean_<metric>`, else `noiseless_<metric>`, else the observed value.
    pub quality_attr: Option<String>,
}

/// The placeholder in problem settings that each run replaces with its seed.
pub const SEED_PLACEHOLDER: &str = "{seed}";

impl ProblemSpec {
    /// The objective's settings for the run with `seed`.
    pub fn settings_for(&self, seed: u64) -> Settings {
        let mut map = serde_json::Map::new();
        for (key, value) in serde_json::to_value(&self.settings)
            .ok()
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default()
        {
            let value = match value {
                serde_json::Value::String(s) if s == SEED_PLACEHOLDER => seed.into(),
                other => other,
            };
            map.insert(key, value);
        }
        Settings::new(map)
    }
}

/// Everything to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    /// The strategies, in report order.
    pub strategies: Vec<StrategySpec>,
    /// The problems, in report order.
    pub problems: Vec<ProblemSpec>,
    /// The study seeds; each (strategy, problem, budget) runs once per seed.
    pub seeds: Vec<u64>,
    /// Trials per run.
    pub budgets: Vec<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuiteToml {
    #[serde(default)]
    seeds: Option<SeedsToml>,
    #[serde(default)]
    budgets: Option<Vec<u64>>,
    #[serde(default)]
    strategy: Vec<toml::Table>,
    #[serde(default)]
    problem: Vec<toml::Table>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum SeedsToml {
    Count(u64),
    List(Vec<u64>),
    Range(String),
}

impl Suite {
    /// Reads a suite file.
    pub fn load(path: &Path) -> Result<Suite> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the suite file {}", path.display()))?;
        Suite::parse(path, &text)
    }

    /// Reads suite text; `path` names it in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Suite> {
        let at = |e: &toml::de::Error| match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!("{}:{line}:{col}", path.display())
            }
            None => path.display().to_string(),
        };
        let raw: SuiteToml = toml::from_str(text)
            .map_err(|e| anyhow!("{}: malformed suite file: {}", at(&e), e.message().trim()))?;
        let file = path.display();
        let seeds = match raw.seeds {
            None => Vec::new(),
            Some(SeedsToml::Count(n)) => {
                seed_range(0, n).with_context(|| format!("{file}: `seeds`"))?
            }
            Some(SeedsToml::List(l)) => l,
            Some(SeedsToml::Range(r)) => {
                parse_seeds(&r).with_context(|| format!("{file}: `seeds`"))?
            }
        };
        let strategies = raw
            .strategy
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                strategy_from_table(t).with_context(|| format!("{file}: [[strategy]] #{}", i + 1))
            })
            .collect::<Result<Vec<_>>>()?;
        let problems = raw
            .problem
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                problem_from_table(t).with_context(|| format!("{file}: [[problem]] #{}", i + 1))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Suite {
            strategies,
            problems,
            seeds,
            budgets: raw.budgets.unwrap_or_default(),
        })
    }

    /// Refuses a suite that would run nothing or whose rows could not be told apart.
    pub fn check(&self) -> Result<()> {
        if self.strategies.is_empty() {
            bail!("no strategy to run; give `--strategies` or [[strategy]] tables in a suite file");
        }
        if self.problems.is_empty() {
            bail!("no problem to run; give `--problems` or [[problem]] tables in a suite file");
        }
        if self.seeds.is_empty() {
            bail!("no seed to run; give `--seeds` or `seeds = N` in a suite file");
        }
        if self.budgets.is_empty() {
            bail!("no budget; give `--budgets` or `budgets = [N]` in a suite file");
        }
        if let Some(b) = self.budgets.iter().find(|&&b| b == 0) {
            bail!("budget {b} runs no trial; give at least 1");
        }
        // The same seed twice is the same run twice: it would count double in every statistic.
        for (what, list) in [("seed", &self.seeds), ("budget", &self.budgets)] {
            let mut seen = std::collections::HashSet::with_capacity(list.len());
            if let Some(n) = list.iter().find(|&&n| !seen.insert(n)) {
                bail!("{what} {n} is given twice; give each once");
            }
        }
        for (i, s) in self.strategies.iter().enumerate() {
            if self.strategies[..i].iter().any(|o| o.label == s.label) {
                bail!(
                    "two strategies share the label `{}`; give each a distinct `label`",
                    s.label
                );
            }
        }
        for (i, p) in self.problems.iter().enumerate() {
            if self.problems[..i].iter().any(|o| o.label == p.label) {
                bail!(
                    "two problems share the label `{}`; give each a distinct `label`",
                    p.label
                );
            }
        }
        Ok(())
    }
}

/// The most seeds a suite may list: far more than any benchmark runs, few enough that a typo
/// (`seeds = 18446744073709551615`) is refused rather than listed until memory runs out.
pub const MAX_SEEDS: u64 = 100_000;

/// Seeds `a` to `b - 1`, at most [`MAX_SEEDS`] of them.
fn seed_range(a: u64, b: u64) -> Result<Vec<u64>> {
    if b.saturating_sub(a) > MAX_SEEDS {
        bail!("{a}..{b} is more than {MAX_SEEDS} seeds; a benchmark runs every one, so give fewer");
    }
    Ok((a..b).collect())
}

/// `"10"` (seeds 0 to 9), `"3..7"` (3 to 6), or `"1,4,9"`.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>> {
    let text = text.trim();
    let number = |s: &str| {
        s.trim()
            .parse::<u64>()
            .map_err(|_| anyhow!("`{s}` is not a whole number; write seeds as N, A..B or A,B,C"))
    };
    if let Some((a, b)) = text.split_once("..") {
        let (a, b) = (number(a)?, number(b)?);
        if a >= b {
            bail!("the seed range {a}..{b} is empty; write A..B with A < B (B excluded)");
        }
        return seed_range(a, b);
    }
    if text.contains(',') {
        return text.split(',').map(number).collect();
    }
    seed_range(0, number(text)?)
}

/// `"100,500"`.
pub fn parse_budgets(text: &str) -> Result<Vec<u64>> {
    text.split(',')
        .map(|s| {
            s.trim().parse::<u64>().map_err(|_| {
                anyhow!("budget `{s}` is not a whole number of trials; write e.g. 100,500")
            })
        })
        .collect()
}

/// A strategy or problem from the command line: `name` or `name:key=value:key=value`. Values
/// are read as JSON when they parse (numbers, booleans, quoted strings), else as text.
fn parse_spec(spec: &str) -> Result<(String, Settings)> {
    let mut parts = spec.split(':');
    let name = parts.next().unwrap_or_default().trim().to_owned();
    if name.is_empty() {
        bail!("`{spec}` names nothing; write NAME or NAME:KEY=VALUE");
    }
    let mut settings = Settings::default();
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| anyhow!("`{part}` in `{spec}` is not KEY=VALUE"))?;
        let value = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_owned()));
        settings = settings.with(key.trim(), value);
    }
    Ok((name, settings))
}

/// Strategies from `--strategies random,qmc,grid:points=8`; each is labelled by its text.
pub fn strategies_from_flag(list: &[String]) -> Result<Vec<StrategySpec>> {
    list.iter()
        .map(|spec| {
            let (name, settings) = parse_spec(spec)?;
            Ok(StrategySpec {
                label: spec.clone(),
                name,
                settings,
                pruner: None,
            })
        })
        .collect()
}

/// Problems from `--problems branin,rosenbrock:dim=10`; each is labelled by its text.
pub fn problems_from_flag(list: &[String]) -> Result<Vec<ProblemSpec>> {
    list.iter()
        .map(|spec| {
            let (objective, settings) = parse_spec(spec)?;
            Ok(ProblemSpec {
                label: spec.clone(),
                objective,
                settings,
                space: None,
                direction: None,
                quality_attr: None,
            })
        })
        .collect()
}

fn take_string(table: &mut toml::Table, key: &str) -> Result<Option<String>> {
    match table.remove(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => bail!("`{key}` must be a string, got a {}", other.type_str()),
    }
}

fn settings_of(table: toml::Table) -> Result<Settings> {
    match serde_json::to_value(&table) {
        Ok(serde_json::Value::Object(map)) => Ok(Settings::new(map)),
        _ => bail!("the settings cannot be read as plain values"),
    }
}

fn strategy_from_table(mut table: toml::Table) -> Result<StrategySpec> {
    let name = take_string(&mut table, "name")?
        .ok_or_else(|| anyhow!("needs `name = \"...\"` (a strategy the registry knows)"))?;
    let label = take_string(&mut table, "label")?.unwrap_or_else(|| name.clone());
    let pruner = match table.remove("pruner") {
        None => None,
        Some(toml::Value::Table(mut pruner)) => {
            let name = take_string(&mut pruner, "name")?.ok_or_else(|| {
                anyhow!("`pruner` needs `name = \"...\"` (a pruner the registry knows)")
            })?;
            Some((name, settings_of(pruner)?))
        }
        Some(_) => bail!("`pruner` must be a table: `pruner = {{ name = \"median\" }}`"),
    };
    Ok(StrategySpec {
        label,
        name,
        settings: settings_of(table)?,
        pruner,
    })
}

fn problem_from_table(mut table: toml::Table) -> Result<ProblemSpec> {
    let label = take_string(&mut table, "label")?;
    let objective = take_string(&mut table, "objective")?;
    let study = take_string(&mut table, "study")?;
    let quality_attr = take_string(&mut table, "quality_attr")?;
    let direction = take_string(&mut table, "direction")?
        .map(|d| {
            d.parse::<Direction>()
                .map_err(|m| anyhow!("`direction`: {m}"))
        })
        .transpose()?;
    match (objective, study) {
        (Some(_), Some(_)) => {
            bail!("give either `objective` or `study`, not both")
        }
        (None, None) => bail!(
            "needs `objective = \"...\"` (with its settings as keys) or `study = \"file.toml\"`"
        ),
        (Some(objective), None) => Ok(ProblemSpec {
            label: label.unwrap_or_else(|| objective.clone()),
            objective,
            settings: settings_of(table)?,
            space: None,
            direction,
            quality_attr,
        }),
        (None, Some(study)) => {
            if let Some(key) = table.keys().next() {
                bail!(
                    "`{key}`: a problem read from a study file takes its settings from that file; move them to its [objective] table"
                );
            }
            let file = StudyFile::load(&PathBuf::from(&study))?;
            let single = match file.directions.as_deref() {
                None => None,
                Some([d]) => Some(*d),
                Some(_) => bail!(
                    "{study}: the study has several objectives; benchmarks compare single-objective problems"
                ),
            };
            Ok(ProblemSpec {
                label: label.unwrap_or_else(|| file.name.clone()),
                objective: file.objective.name,
                settings: file.objective.settings,
                space: file.space,
                direction: direction.or(single),
                quality_attr,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_suite_file_with_labels_settings_and_seed_forms() {
        let s = Suite::parse(
            Path::new("s.toml"),
            r#"
seeds = 3
budgets = [20, 50]
[[strategy]]
name = "grid"
label = "grid8"
points = 8
[[strategy]]
name = "random"
[[problem]]
objective = "rosenbrock"
label = "rosenbrock10"
dim = 10
[[problem]]
objective = "table"
path = "t.csv"
noise_seed = "{seed}"
direction = "maximize"
"#,
        )
        .unwrap();
        s.check().unwrap();
        assert_eq!(s.seeds, [0, 1, 2]);
        assert_eq!(s.budgets, [20, 50]);
        assert_eq!(s.strategies[0].label, "grid8");
        assert_eq!(s.strategies[0].settings.get("points"), Some(&8.into()));
        assert_eq!(s.strategies[1].label, "random");
        assert_eq!(s.problems[0].label, "rosenbrock10");
        assert_eq!(s.problems[1].label, "table");
        assert_eq!(s.problems[1].direction, Some(Direction::Maximize));
        let run = s.problems[1].settings_for(7);
        assert_eq!(run.get("noise_seed"), Some(&7.into()));
        assert_eq!(run.get("path"), Some(&"t.csv".into()));
        assert!(
            run.get("direction").is_none(),
            "reserved keys are not settings"
        );

        let s = Suite::parse(Path::new("s.toml"), "seeds = \"5..8\"\n").unwrap();
        assert_eq!(s.seeds, [5, 6, 7]);
        assert!(s.check().unwrap_err().to_string().contains("no strategy"));
    }

    #[test]
    fn bad_suites_are_refused_with_the_place_named() {
        let e = Suite::parse(
            Path::new("s.toml"),
            "seeds = 3\n[[strategy]]\nlabel = \"x\"\n",
        )
        .unwrap_err();
        let m = format!("{e:#}");
        assert!(m.contains("s.toml: [[strategy]] #1: needs `name"), "{m}");
        let e = Suite::parse(Path::new("s.toml"), "seeds = 3\nbudget = [1]\n").unwrap_err();
        let m = format!("{e:#}");
        assert!(m.starts_with("s.toml:2:1: malformed suite file"), "{m}");
        assert!(m.contains("unknown field `budget`"), "{m}");
        let e = Suite::parse(
            Path::new("s.toml"),
            "[[problem]]\nobjective = \"a\"\nstudy = \"b.toml\"\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("either `objective` or `study`"));
        let mut s = Suite::parse(
            Path::new("s.toml"),
            "seeds = 1\nbudgets = [5]\n[[strategy]]\nname = \"random\"\n[[strategy]]\nname = \"random\"\n[[problem]]\nobjective = \"branin\"\n",
        )
        .unwrap();
        assert!(
            s.check()
                .unwrap_err()
                .to_string()
                .contains("share the label `random`")
        );
        s.strategies.pop();
        s.budgets = vec![0];
        assert!(s.check().unwrap_err().to_string().contains("runs no trial"));
    }

    #[test]
    fn seed_counts_beyond_any_benchmark_are_refused_before_any_is_listed() {
        for text in [
            "18446744073709551615",
            "0..18446744073709551615",
            "5..100000006",
        ] {
            let e = parse_seeds(text).unwrap_err().to_string();
            assert!(e.contains("more than 100000 seeds"), "{text}: {e}");
        }
        assert_eq!(parse_seeds("100000").unwrap().len(), 100_000);
        let e = Suite::parse(
            Path::new("s.toml"),
            "seeds = 18446744073709551615
",
        )
        .unwrap_err();
        let m = format!("{e:#}");
        assert!(
            m.contains("s.toml: `seeds`: ") && m.contains("more than"),
            "{m}"
        );
    }

    #[test]
    fn a_seed_or_budget_given_twice_is_refused_rather_than_counted_twice() {
        let base =
            "budgets = [5]\n[[strategy]]\nname = \"random\"\n[[problem]]\nobjective = \"branin\"\n";
        let suite = |extra: &str| Suite::parse(Path::new("s.toml"), &format!("{extra}\n{base}"));
        suite("seeds = [1, 2]").unwrap().check().unwrap();
        let e = suite("seeds = [1, 2, 1]").unwrap().check().unwrap_err();
        assert!(e.to_string().contains("seed 1 is given twice"), "{e}");
        let mut s = suite("seeds = 2").unwrap();
        s.budgets = parse_budgets("5,10,5").unwrap();
        let e = s.check().unwrap_err();
        assert!(e.to_string().contains("budget 5 is given twice"), "{e}");
    }

    #[test]
    fn command_line_specs_carry_settings() {
        let p = problems_from_flag(&[
            "rosenbrock:dim=10:noise=0.5".into(),
            "table:path=a/b.csv".into(),
        ])
        .unwrap();
        assert_eq!(p[0].objective, "rosenbrock");
        assert_eq!(p[0].label, "rosenbrock:dim=10:noise=0.5");
        assert_eq!(p[0].settings.get("dim"), Some(&10.into()));
        assert_eq!(p[0].settings.get("noise"), Some(&0.5.into()));
        assert_eq!(p[1].settings.get("path"), Some(&"a/b.csv".into()));
        assert!(strategies_from_flag(&["grid:points".into()]).is_err());
        assert_eq!(parse_seeds("1,4,9").unwrap(), [1, 4, 9]);
        assert_eq!(parse_seeds("4").unwrap(), [0, 1, 2, 3]);
        assert!(parse_seeds("7..7").is_err());
        assert!(parse_seeds("x").unwrap_err().to_string().contains("`x`"));
        assert_eq!(parse_budgets("100, 500").unwrap(), [100, 500]);
        assert!(parse_budgets("1e3").is_err());
    }
}
