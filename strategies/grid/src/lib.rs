//! Grid search: every combination of the space's values, in a seeded order.
//!
//! The grid is the tree of the space's values: ints, stepped floats and categorical choices
//! contribute all their values, floats without a step contribute `points` evenly spaced values
//! (on a log scale for log domains) or the list given in `values.<name>`, and a conditional
//! parameter contributes an axis only under the parent values that activate it. So `layers` in
//! {1, 2} with `units_2` in {16, 32, 64} only when `layers = 2` is a grid of 1 + 3 points, not 6.
//!
//! Settings (all optional):
//! - `points = N`: N evenly spaced values, endpoints included, for every float without a step.
//! - `values = { name = [..] }`: the values of one parameter, checked against its domain; they
//!   replace the domain's own values, for any kind of parameter.
//! - `shuffle = true`: visit the grid in an order shuffled by the study seed; `false` visits it
//!   in lexicographic order (parameters in space order, values in declared order).
//! - `max_points = 1000000`: refuse, before any trial, a larger grid.
//!
//! Trial `i` takes the `i`-th point of the order, skipping points that a finished or running
//! trial already has (enqueued or duplicate points are not run twice); when every point is used,
//! [`Strategy::ask`] returns [`Error::Exhausted`] and the study ends. Nothing proportional to the
//! grid is materialized: points are computed from their rank, the size is counted on the tree,
//! and the shuffle is a keyed Feistel permutation, so memory grows with the trials, not the grid.
//!
//! ```
//! use hyperplug_core::{Budget, Direction, Domain, Param, Settings, Space, Study, StudyConfig};
//! use hyperplug_grid::Grid;
//!
//! let space = Space::new(vec![
//!     Param::new("layers", Domain::int(1, 2)),
//!     Param::new("units_2", Domain::choice([16i64, 32, 64])).when("layers", [2i64]),
//! ])
//! .unwrap();
//! let config = StudyConfig::new("demo", space, vec![Direction::Minimize]);
//! let mut study = Study::new(config, &Grid, &Settings::default()).unwrap();
//! study.optimize_fn(Budget::trials(100), |_, _| Ok(0.0)).unwrap();
//! assert_eq!(study.finished().len(), 4);
//! ```
//!
//! Architecture invariant: depends on `hyperplug-core`, `rand` and `serde` only; no IO, no FFI,
//! no global RNG.
#![forbid(unsafe_code)]

use std::collections::{BTreeMap, BTreeSet, HashSet};

use hyperplug_core::{
    AskContext, Capabilities, Domain, Error, Params, PluginInfo, SeedRng, Space, Strategy,
    StrategyFactory, StudySetup, Trial, Value,
};
use rand::{Rng, SeedableRng};
use serde::Deserialize;

/// The name study files use for this strategy.
const NAME: &str = "grid";

/// The default of `max_points`: a million points, a few megabytes of bookkeeping at most.
pub const DEFAULT_MAX_POINTS: u64 = 1_000_000;

/// Makes grid-search strategies. Settings: `points`, `values`, `shuffle`, `max_points` (see the
/// crate documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Grid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct GridSettings {
    #[serde(default)]
    points: Option<u64>,
    #[serde(default)]
    values: BTreeMap<String, Vec<Value>>,
    #[serde(default = "yes")]
    shuffle: bool,
    #[serde(default = "default_max_points")]
    max_points: u64,
}

fn yes() -> bool {
    true
}

fn default_max_points() -> u64 {
    DEFAULT_MAX_POINTS
}

impl StrategyFactory for Grid {
    fn info(&self) -> PluginInfo {
        PluginInfo::new(
            NAME,
            env!("CARGO_PKG_VERSION"),
            "Grid search: every combination of the space's values, in a seeded order.",
            Capabilities::all(),
        )
    }

    fn create(&self, setup: &StudySetup<'_>) -> Result<Box<dyn Strategy>, Error> {
        let settings: GridSettings = setup.settings.parse(NAME)?;
        let tree = Tree::new(setup.space, &settings)?;
        let size = tree.size();
        if size > u128::from(settings.max_points) {
            return Err(Error::settings(
                NAME,
                format!(
                    "the grid has {} points, more than max_points = {}; values per parameter: \
                     {}. Use fewer `points`, list fewer `values.<name>`, give floats a coarser \
                     step, or raise `max_points`",
                    show_size(size),
                    settings.max_points,
                    tree.describe_axes()
                ),
            ));
        }
        // At most max_points, a u64.
        let size = u64::try_from(size).unwrap_or(u64::MAX);
        Ok(Box::new(GridStrategy {
            order: Order::new(size, setup.seed, settings.shuffle),
            tree,
            size,
            cursor: 0,
            used: HashSet::new(),
            seen: 0,
        }))
    }
}

fn show_size(size: u128) -> String {
    if size == u128::MAX {
        format!("more than {}", u128::MAX - 1)
    } else {
        size.to_string()
    }
}

struct GridStrategy {
    tree: Tree,
    order: Order,
    size: u64,
    /// Every position of the order before it is used; positions only get used, never freed.
    cursor: u64,
    /// Ranks of the points that trials (finished, running or just suggested) have.
    used: HashSet<u64>,
    /// How many of `ctx.trials` are already in `used`.
    seen: usize,
}

impl GridStrategy {
    fn absorb(&mut self, ctx: &AskContext<'_>) {
        if ctx.trials.len() < self.seen {
            // Not the history it grew from: read it again (`used` only ever grows).
            self.seen = 0;
        }
        let new = &ctx.trials[self.seen..];
        for t in new.iter().chain(ctx.running) {
            if let Some(rank) = self.tree.rank(&t.params) {
                self.used.insert(rank);
            }
        }
        self.seen = ctx.trials.len();
    }
}

impl Strategy for GridStrategy {
    fn ask(&mut self, ctx: &AskContext<'_>) -> Result<Params, Error> {
        self.absorb(ctx);
        // The trial's own position first: the store gives each number once, so workers asking
        // at the same moment, before they see each other's points, still take different ones.
        if ctx.number < self.size {
            let rank = self.order.at(ctx.number);
            if self.used.insert(rank) {
                return Ok(self.tree.point(rank));
            }
        }
        // Taken (by an enqueued trial, a retry, or a number past the grid): the first point
        // in order that no trial has.
        while self.cursor < self.size {
            let rank = self.order.at(self.cursor);
            self.cursor += 1;
            if self.used.insert(rank) {
                return Ok(self.tree.point(rank));
            }
        }
        Err(Error::Exhausted(format!(
            "all {} points of the grid have been suggested",
            self.size
        )))
    }

    fn tell(&mut self, ctx: &AskContext<'_>, _trial: &Trial) -> Result<(), Error> {
        // Keep `used` current so that its work does not pile up in the next ask.
        self.absorb(ctx);
        Ok(())
    }
}

/// The values of one parameter on the grid, computed by index rather than stored, so that an
/// int with a million values costs nothing until the size check has accepted it.
#[derive(Debug)]
enum Axis {
    /// Listed values: categorical choices or `values.<name>`.
    List(Vec<Value>),
    /// `low + k * step`.
    Int { low: i64, step: i64, len: u64 },
    /// `(low + k * step).min(high)`, exactly as `Domain::values` computes them, so that the
    /// points are the ones the domain accepts.
    FloatStep {
        low: f64,
        high: f64,
        step: f64,
        len: u64,
    },
    /// `len >= 2` evenly spaced floats, endpoints exact, on a log scale if `log`.
    Spaced {
        low: f64,
        high: f64,
        log: bool,
        len: u64,
    },
}

impl Axis {
    fn len(&self) -> u64 {
        match *self {
            Axis::List(ref values) => values.len() as u64,
            Axis::Int { len, .. } | Axis::FloatStep { len, .. } | Axis::Spaced { len, .. } => len,
        }
    }

    /// The `k`-th value, for `k < len`.
    fn value(&self, k: u64) -> Value {
        match *self {
            // `k < len` by construction: ranks come from `Tree::point`.
            Axis::List(ref values) => values[k as usize].clone(),
            Axis::Int { low, step, .. } => {
                // i128: the product may pass i64 before the sum comes back in range.
                let v = i128::from(low) + i128::from(k) * i128::from(step);
                Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
            }
            Axis::FloatStep {
                low, high, step, ..
            } => Value::Float((low + k as f64 * step).min(high)),
            Axis::Spaced {
                low,
                high,
                log,
                len,
            } => {
                if k == 0 {
                    return Value::Float(low);
                }
                if k + 1 >= len {
                    return Value::Float(high);
                }
                let t = k as f64 / (len - 1) as f64;
                let x = if log {
                    (low.ln() + t * (high.ln() - low.ln())).exp()
                } else {
                    low + t * (high - low)
                };
                Value::Float(x.clamp(low, high))
            }
        }
    }

    /// The index of `value` on this axis, if it is exactly one of its values.
    fn index_of(&self, value: &Value) -> Option<u64> {
        match (self, value) {
            (Axis::List(values), v) => values.iter().position(|x| x == v).map(|k| k as u64),
            (&Axis::Int { low, step, len }, &Value::Int(i)) => {
                let d = i128::from(i) - i128::from(low);
                if d < 0 || d % i128::from(step) != 0 {
                    return None;
                }
                u64::try_from(d / i128::from(step))
                    .ok()
                    .filter(|&k| k < len)
            }
            (&Axis::FloatStep { low, step, len, .. }, &Value::Float(x)) => {
                self.near(((x - low) / step).round(), len, value)
            }
            (
                &Axis::Spaced {
                    low,
                    high,
                    log,
                    len,
                },
                &Value::Float(x),
            ) => {
                let t = if log {
                    (x.ln() - low.ln()) / (high.ln() - low.ln())
                } else {
                    (x - low) / (high - low)
                };
                self.near((t * (len - 1) as f64).round(), len, value)
            }
            _ => None,
        }
    }

    /// The index among `guess - 1 ..= guess + 1` whose value is exactly `value`: the guess comes
    /// from inverting the formula, which rounding may put one off.
    fn near(&self, guess: f64, len: u64, value: &Value) -> Option<u64> {
        if !guess.is_finite() || guess < -1.0 || guess > len as f64 {
            return None;
        }
        let g = guess.max(0.0) as u64;
        (g.saturating_sub(1)..=g.saturating_add(1))
            .filter(|&k| k < len)
            .find(|&k| self.value(k) == *value)
    }
}

/// One parameter as a node of the grid tree.
#[derive(Debug)]
struct Node {
    name: String,
    axis: Axis,
    /// The parent's position, and the parent's axis indices that make this node active
    /// (sorted).
    parent: Option<(usize, Vec<u64>)>,
    /// Axis indices under which at least one child is active, with the product of those
    /// children's subtree sizes (sorted by index). Every other index activates no child.
    special: Vec<(u64, u128)>,
    /// Points of this node's subtree when it is active (saturating).
    size: u128,
}

/// The grid: nodes in space order (parents first). Points are numbered in lexicographic order;
/// [`Tree::point`] and [`Tree::rank`] convert between a number and a point.
#[derive(Debug)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn new(space: &Space, settings: &GridSettings) -> Result<Self, Error> {
        if let Some(n) = settings.points
            && n < 2
        {
            return Err(Error::settings(
                NAME,
                format!("points = {n}: need at least 2, for both ends of each float's range"),
            ));
        }
        if let Some(key) = settings.values.keys().find(|k| space.get(k).is_none()) {
            let known: Vec<&str> = space.params().iter().map(|p| p.name.as_str()).collect();
            return Err(Error::settings(
                NAME,
                format!(
                    "values.{key}: `{key}` is not a parameter of this space (parameters: {})",
                    known.join(", ")
                ),
            ));
        }
        let params = space.params();
        let mut nodes: Vec<Node> = Vec::with_capacity(params.len());
        for p in params {
            let axis = match settings.values.get(&p.name) {
                Some(list) => listed_axis(&p.name, &p.domain, list)?,
                None => domain_axis(&p.name, &p.domain, settings.points)?,
            };
            let parent = match &p.condition {
                None => None,
                Some(c) => {
                    let at = nodes
                        .iter()
                        .position(|n| n.name == c.parent)
                        .ok_or_else(|| {
                            Error::Other(format!(
                                "parameter `{}`: its parent `{}` does not come before it",
                                p.name, c.parent
                            ))
                        })?;
                    // A set: a value listed twice in the condition must not count twice.
                    let on: BTreeSet<u64> = c
                        .values
                        .iter()
                        .filter_map(|v| nodes[at].axis.index_of(v))
                        .collect();
                    Some((at, on.into_iter().collect()))
                }
            };
            nodes.push(Node {
                name: p.name.clone(),
                axis,
                parent,
                special: Vec::new(),
                size: 0,
            });
        }
        // Children come after their parents, so one backward pass sizes every subtree.
        for i in (0..nodes.len()).rev() {
            let mut special: BTreeMap<u64, u128> = BTreeMap::new();
            for child in &nodes[i + 1..] {
                if let Some((p, on)) = &child.parent
                    && *p == i
                {
                    for &k in on {
                        let f = special.entry(k).or_insert(1);
                        *f = f.saturating_mul(child.size);
                    }
                }
            }
            let plain = u128::from(nodes[i].axis.len()) - special.len() as u128;
            nodes[i].size = special.values().fold(plain, |s, f| s.saturating_add(*f));
            nodes[i].special = special.into_iter().collect();
        }
        Ok(Tree { nodes })
    }

    /// The number of points (saturating): the product of the root subtrees.
    fn size(&self) -> u128 {
        self.nodes
            .iter()
            .filter(|n| n.parent.is_none())
            .fold(1u128, |s, n| s.saturating_mul(n.size))
    }

    fn describe_axes(&self) -> String {
        let parts: Vec<String> = self
            .nodes
            .iter()
            .map(|n| match &n.parent {
                None => format!("{} {}", n.name, n.axis.len()),
                Some((p, _)) => format!(
                    "{} {} (when {} allows)",
                    n.name,
                    n.axis.len(),
                    self.nodes[*p].name
                ),
            })
            .collect();
        parts.join(", ")
    }

    /// Whether node `k` is active given the indices chosen for the nodes before it.
    fn active(&self, k: usize, idx: &[Option<u64>]) -> bool {
        match &self.nodes[k].parent {
            None => true,
            Some((p, on)) => idx[*p].is_some_and(|j| on.binary_search(&j).is_ok()),
        }
    }

    /// Completions of the nodes after `k` that do not hang below `k`, given the indices chosen
    /// for nodes up to `k - 1`: roots, and subtrees whose parent before `k` activated them.
    fn others(&self, k: usize, idx: &[Option<u64>]) -> u128 {
        let mut product = 1u128;
        for q in k + 1..self.nodes.len() {
            let counts = match &self.nodes[q].parent {
                None => true,
                Some((p, _)) if *p < k => self.active(q, idx),
                Some(_) => false,
            };
            if counts {
                product = product.saturating_mul(self.nodes[q].size);
            }
        }
        product
    }

    /// The point of lexicographic rank `rank` (< size).
    fn point(&self, rank: u64) -> Params {
        let mut idx: Vec<Option<u64>> = vec![None; self.nodes.len()];
        let mut r = u128::from(rank);
        for k in 0..self.nodes.len() {
            if !self.active(k, &idx) {
                continue;
            }
            // Each choice j of node k has `others * factor(j)` completions, with factor 1 except
            // at the special indices; walk the choices in blocks.
            let others = self.others(k, &idx).max(1);
            let mut prev = 0u64;
            let mut chosen = None;
            for &(s, factor) in &self.nodes[k].special {
                let block = u128::from(s - prev).saturating_mul(others);
                if r < block {
                    break;
                }
                r -= block;
                let here = factor.saturating_mul(others);
                if r < here {
                    chosen = Some(s);
                    break;
                }
                r -= here;
                prev = s + 1;
            }
            let j = chosen.unwrap_or_else(|| {
                let j = prev + u64::try_from(r / others).unwrap_or(u64::MAX);
                r %= others;
                j
            });
            idx[k] = Some(j);
        }
        self.nodes
            .iter()
            .zip(&idx)
            .filter_map(|(n, j)| j.map(|j| (n.name.clone(), n.axis.value(j))))
            .collect()
    }

    /// The rank of `params` if they are a point of this grid (exactly), else `None`.
    fn rank(&self, params: &Params) -> Option<u64> {
        let mut idx: Vec<Option<u64>> = vec![None; self.nodes.len()];
        let mut r = 0u128;
        let mut present = 0;
        for k in 0..self.nodes.len() {
            let node = &self.nodes[k];
            match (self.active(k, &idx), params.get(&node.name)) {
                (false, None) => continue,
                (false, Some(_)) | (true, None) => return None,
                (true, Some(v)) => {
                    let j = node.axis.index_of(v)?;
                    let mut before = 0u128;
                    let mut specials_before = 0u64;
                    for &(_, factor) in node.special.iter().take_while(|(s, _)| *s < j) {
                        before = before.saturating_add(factor);
                        specials_before += 1;
                    }
                    before = before.saturating_add(u128::from(j - specials_before));
                    r = r.saturating_add(before.saturating_mul(self.others(k, &idx)));
                    idx[k] = Some(j);
                    present += 1;
                }
            }
        }
        if present != params.len() {
            return None;
        }
        u64::try_from(r).ok()
    }
}

/// The axis of a parameter without `values.<name>`: its domain's values, or `points` spaced
/// values for a float without a step.
fn domain_axis(name: &str, domain: &Domain, points: Option<u64>) -> Result<Axis, Error> {
    Ok(match *domain {
        Domain::Categorical { ref choices } => Axis::List(choices.clone()),
        Domain::Int {
            low, high, step, ..
        } => {
            // i128: `high - low` overflows i64 for the widest ranges.
            let step = step.max(1);
            let len = (i128::from(high) - i128::from(low)) / i128::from(step) + 1;
            Axis::Int {
                low,
                step,
                len: u64::try_from(len).unwrap_or(u64::MAX),
            }
        }
        Domain::Float {
            low,
            high,
            step: Some(step),
            ..
        } => {
            // Core's formula (so the values match `Domain::values`), but saturating:
            // `Domain::cardinality` overflows on absurdly fine steps.
            let k = ((high - low) / step + 1e-9).floor();
            let len = if k >= u64::MAX as f64 {
                u64::MAX
            } else {
                k.max(0.0) as u64 + 1
            };
            Axis::FloatStep {
                low,
                high,
                step,
                len,
            }
        }
        // A fixed float has one value, whatever `points` says.
        Domain::Float {
            low,
            high,
            step: None,
            ..
        } if low == high => Axis::List(vec![Value::Float(low)]),
        Domain::Float {
            low,
            high,
            log,
            step: None,
        } => match points {
            Some(len) => Axis::Spaced {
                low,
                high,
                log,
                len,
            },
            None => {
                return Err(Error::settings(
                    NAME,
                    format!(
                        "parameter `{name}` is a float without a step, so the grid cannot list \
                         its values: set `points` (that many evenly spaced values for every such \
                         float) or `values.{name}` (a list of its values)"
                    ),
                ));
            }
        },
    })
}

/// The axis of a parameter with `values.<name>`: the list, checked against the domain. Whole
/// numbers are accepted for floats (`[0, 0.5, 1]` is natural to write).
fn listed_axis(name: &str, domain: &Domain, list: &[Value]) -> Result<Axis, Error> {
    if list.is_empty() {
        return Err(Error::settings(
            NAME,
            format!("values.{name} is empty; list at least one value or leave it out"),
        ));
    }
    let mut out: Vec<Value> = Vec::with_capacity(list.len());
    for v in list {
        let v = match (domain, v) {
            (Domain::Float { .. }, &Value::Int(i)) => Value::Float(i as f64),
            _ => v.clone(),
        };
        if !domain.contains(&v) {
            return Err(Error::settings(
                NAME,
                format!(
                    "values.{name}: {v} ({}) is not a value of `{name}`, {}",
                    v.type_name(),
                    domain.describe()
                ),
            ));
        }
        if out.contains(&v) {
            return Err(Error::settings(
                NAME,
                format!("values.{name}: {v} is listed twice"),
            ));
        }
        out.push(v);
    }
    Ok(Axis::List(out))
}

/// The visiting order: a bijection of `0..size`, the identity or a keyed Feistel permutation
/// (cycle-walked onto `0..size`), so that shuffling needs no vector of the grid's size.
struct Order {
    size: u64,
    half: u32,
    keys: Option<[u64; ROUNDS]>,
}

/// Feistel rounds: 4 already make a pseudo-random permutation; 6 leave margin at no real cost.
const ROUNDS: usize = 6;

impl Order {
    fn new(size: u64, seed: u64, shuffle: bool) -> Self {
        // The smallest even bit width whose domain holds `size`: at most 4 * size, so cycle
        // walking takes under 4 steps on average.
        let bits = 64 - size.saturating_sub(1).leading_zeros();
        let keys = shuffle.then(|| {
            let mut rng = SeedRng::seed_from_u64(seed);
            std::array::from_fn(|_| rng.random())
        });
        Order {
            size,
            half: bits.div_ceil(2),
            keys,
        }
    }

    /// The rank of the point visited at `position` (< size).
    fn at(&self, position: u64) -> u64 {
        let Some(keys) = &self.keys else {
            return position;
        };
        if self.size <= 1 {
            return position;
        }
        let mut x = position;
        loop {
            x = self.feistel(x, keys);
            if x < self.size {
                return x;
            }
        }
    }

    fn feistel(&self, x: u64, keys: &[u64; ROUNDS]) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let (mut l, mut r) = (x >> self.half, x & mask);
        for key in keys {
            let f = mix(r ^ key) & mask;
            (l, r) = (r, l ^ f);
        }
        (l << self.half) | r
    }
}

/// SplitMix64's finalizer: the Feistel round function.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use hyperplug_core::{Budget, Direction, Param, Settings, Study, StudyConfig, TrialState};

    use super::*;

    fn space(params: Vec<Param>) -> Space {
        Space::new(params).expect("test space is valid")
    }

    fn create(space: &Space, settings: &Settings, seed: u64) -> Result<Box<dyn Strategy>, Error> {
        Grid.create(&StudySetup {
            space,
            directions: &[Direction::Minimize],
            seed,
            settings,
        })
    }

    fn tree(space: &Space, settings: &Settings) -> Tree {
        let s: GridSettings = settings.parse(NAME).expect("valid settings");
        Tree::new(space, &s).expect("valid grid")
    }

    fn settings_error(space: &Space, settings: &Settings) -> String {
        match create(space, settings, 0) {
            Err(Error::Settings { owner, message }) => {
                assert_eq!(owner, "grid");
                message
            }
            Err(e) => panic!("expected a settings error, got {e}"),
            Ok(_) => panic!("expected a settings error, got a strategy"),
        }
    }

    /// Asks until exhausted with an empty history apart from the trials it suggested itself.
    fn drain(space: &Space, settings: &Settings, seed: u64, preset: Vec<Params>) -> Vec<Params> {
        let mut strategy = create(space, settings, seed).expect("valid grid");
        let mut finished: Vec<Trial> = preset
            .into_iter()
            .enumerate()
            .map(|(i, p)| Trial::running(i as u64, p, 0))
            .collect();
        let mut out = Vec::new();
        loop {
            let ctx = AskContext {
                space,
                directions: &[Direction::Minimize],
                seed,
                trials: &finished,
                running: &[],
                number: finished.len() as u64,
            };
            match strategy.ask(&ctx) {
                Ok(p) => {
                    assert!(space.validate(&p).is_ok(), "{p:?}");
                    finished.push(Trial::running(finished.len() as u64, p.clone(), 0));
                    out.push(p);
                }
                Err(Error::Exhausted(_)) => return out,
                Err(e) => panic!("ask failed: {e}"),
            }
        }
    }

    fn p(pairs: &[(&str, Value)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    fn lexicographic() -> Settings {
        Settings::default().with("shuffle", false)
    }

    #[test]
    fn passes_the_conformance_suite() {
        hyperplug_testkit::check_strategy(&Grid, &Settings::default().with("points", 5));
    }

    #[test]
    fn an_inactive_child_adds_no_axis() {
        let s = space(vec![
            Param::new("layers", Domain::int(1, 2)),
            Param::new("units_2", Domain::int(16, 64).step(16.0)).when("layers", [2i64]),
        ]);
        assert_eq!(tree(&s, &Settings::default()).size(), 1 + 4);
        let points = drain(&s, &lexicographic(), 0, vec![]);
        let units: Vec<Option<i64>> = points
            .iter()
            .map(|p| p.get("units_2").and_then(Value::as_i64))
            .collect();
        assert_eq!(units, [None, Some(16), Some(32), Some(48), Some(64)]);
    }

    /// Every point of a space of finite domains, by depth-first search over `Domain::values`:
    /// an enumeration that shares no code with `Tree`.
    fn brute_force(space: &Space) -> Vec<Params> {
        fn go(space: &Space, k: usize, cur: Params, out: &mut Vec<Params>) {
            let Some(param) = space.params().get(k) else {
                out.push(cur);
                return;
            };
            if !space.is_active(param, &cur) {
                go(space, k + 1, cur, out);
                return;
            }
            for v in param.domain.values().expect("finite") {
                let mut next = cur.clone();
                next.insert(param.name.clone(), v);
                go(space, k + 1, next, out);
            }
        }
        let mut out = Vec::new();
        go(space, 0, Params::new(), &mut out);
        out
    }

    fn nested() -> Space {
        space(vec![
            Param::new("opt", Domain::choice(["sgd", "adam", "rmsprop"])),
            Param::new("momentum", Domain::float(0.0, 0.9).step(0.3))
                .when("opt", ["sgd", "rmsprop"]),
            Param::new("nesterov", Domain::choice([false, true]))
                .when("momentum", [0.3, 0.6, 0.8999999999999999]),
            Param::new("beta", Domain::choice([0.9, 0.99])).when("opt", ["adam"]),
            Param::new("layers", Domain::int(1, 3)),
            Param::new("units_3", Domain::int(8, 32).step(8.0)).when("layers", [3i64]),
        ])
    }

    #[test]
    fn the_tree_counts_ranks_and_orders_exactly_like_a_depth_first_enumeration() {
        let s = nested();
        let all = brute_force(&s);
        // opt: sgd and rmsprop each 1 (momentum 0) + 3 * 2 (nesterov) = 7, adam 2: 16.
        // layers: 1 + 1 + 4 = 6. Total 96.
        assert_eq!(all.len(), 96);
        let t = tree(&s, &Settings::default());
        assert_eq!(t.size(), 96);
        for (r, expected) in all.iter().enumerate() {
            let got = t.point(r as u64);
            assert_eq!(
                got.iter().collect::<Vec<_>>(),
                expected.iter().collect::<Vec<_>>(),
                "rank {r}"
            );
            assert_eq!(t.rank(&got), Some(r as u64));
        }
        assert_eq!(t.rank(&p(&[("opt", "adam".into())])), None, "missing keys");
        let mut extra = all[0].clone();
        extra.insert("beta".into(), Value::Float(0.9));
        assert_eq!(t.rank(&extra), None, "an inactive parameter is set");
        assert_eq!(drain(&s, &lexicographic(), 0, vec![]), all);
    }

    #[test]
    fn lexicographic_order_then_exhaustion() {
        let s = space(vec![
            Param::new("a", Domain::int(1, 3)),
            Param::new("b", Domain::choice(["x", "y"])),
        ]);
        let seq: Vec<String> = drain(&s, &lexicographic(), 0, vec![])
            .iter()
            .map(|p| format!("{}{}", p["a"], p["b"]))
            .collect();
        assert_eq!(seq, ["1x", "1y", "2x", "2y", "3x", "3y"]);

        let mut strategy = create(&s, &lexicographic(), 0).expect("valid");
        let ctx = |number| AskContext {
            space: &s,
            directions: &[Direction::Minimize],
            seed: 0,
            trials: &[],
            running: &[],
            number,
        };
        for n in 0..6 {
            assert!(strategy.ask(&ctx(n)).is_ok());
        }
        let e = strategy.ask(&ctx(6)).expect_err("6 points only");
        assert_eq!(
            e,
            Error::Exhausted("all 6 points of the grid have been suggested".into())
        );
    }

    #[test]
    fn an_empty_space_is_one_empty_point() {
        let s = Space::empty();
        assert_eq!(drain(&s, &Settings::default(), 3, vec![]), [Params::new()]);
        // Fine steps on wide ranges are counted, not enumerated or overflowed (each range has
        // 1e15 steps, about as many as a space allows; together more than a u64 counts).
        let fine = space(vec![
            Param::new("x", Domain::float(0.0, 1e6).step(1e-9)),
            Param::new("y", Domain::float(0.0, 1e6).step(1e-9)),
        ]);
        let e = settings_error(&fine, &Settings::default());
        assert!(
            e.contains("the grid has 1000000000000002000000000000001 points"),
            "{e}"
        );
    }

    #[test]
    fn shuffled_orders_are_seeded_permutations() {
        let s = space(vec![
            Param::new("a", Domain::int(0, 9)),
            Param::new("b", Domain::int(0, 9)),
        ]);
        let shuffled = Settings::default();
        let one = drain(&s, &shuffled, 1, vec![]);
        let again = drain(&s, &shuffled, 1, vec![]);
        let other = drain(&s, &shuffled, 2, vec![]);
        let plain = drain(&s, &lexicographic(), 1, vec![]);
        assert_eq!(one, again);
        assert_ne!(one, other);
        assert_ne!(one, plain);
        let key = |ps: &[Params]| {
            let mut v: Vec<(i64, i64)> = ps
                .iter()
                .map(|p| (p["a"].as_i64().unwrap_or(-1), p["b"].as_i64().unwrap_or(-1)))
                .collect();
            v.sort_unstable();
            v
        };
        assert_eq!(key(&one), key(&plain));
        assert_eq!(key(&other).len(), 100);
        // A shuffle, not a rotation: the first ten points do not all share `a`.
        let first_a: BTreeSet<i64> = key(&one[..10]).iter().map(|x| x.0).collect();
        assert!(first_a.len() > 3, "{first_a:?}");
    }

    #[test]
    fn the_feistel_order_is_a_bijection_for_every_size() {
        for size in [1u64, 2, 3, 5, 16, 17, 100, 1000, 4097] {
            for seed in [0, 7] {
                let order = Order::new(size, seed, true);
                let seen: BTreeSet<u64> = (0..size).map(|i| order.at(i)).collect();
                assert_eq!(seen.len() as u64, size, "size {size}");
                assert!(seen.iter().all(|&r| r < size));
            }
        }
        let a: Vec<u64> = (0..50).map(|i| Order::new(1000, 1, true).at(i)).collect();
        let b: Vec<u64> = (0..50).map(|i| Order::new(1000, 2, true).at(i)).collect();
        assert_ne!(a, b);
        assert!((0..50).all(|i| Order::new(1000, 1, false).at(i) == i));
        // Large sizes stay cheap: no table is built.
        let big = Order::new(u64::MAX, 3, true);
        assert!(big.at(12345) < u64::MAX);
    }

    #[test]
    fn points_already_tried_are_skipped() {
        let s = space(vec![
            Param::new("a", Domain::int(1, 3)),
            Param::new("b", Domain::choice(["x", "y"])),
        ]);
        // An enqueued point and an off-grid point in the history.
        let preset = vec![
            p(&[("a", Value::Int(1)), ("b", "y".into())]),
            p(&[("a", Value::Int(7)), ("b", "y".into())]),
        ];
        let seq: Vec<String> = drain(&s, &lexicographic(), 0, preset)
            .iter()
            .map(|p| format!("{}{}", p["a"], p["b"]))
            .collect();
        // Each trial takes its own number's position (numbers 0 and 1 went to the preset
        // points); position 0 (`1x`), which no number took, comes once the positions run out.
        assert_eq!(seq, ["2x", "2y", "3x", "3y", "1x"]);
    }

    #[test]
    fn parallel_asks_that_cannot_see_each_other_take_different_points() {
        let s = space(vec![Param::new("a", Domain::int(1, 20))]);
        // Two workers, each its own strategy with the same seed and the same history, asked
        // for different numbers at once.
        let points: Vec<Value> = (0..2)
            .map(|number| {
                let mut strategy = create(&s, &Settings::default(), 3).expect("valid");
                let ctx = AskContext {
                    space: &s,
                    directions: &[Direction::Minimize],
                    seed: 3,
                    trials: &[],
                    running: &[],
                    number,
                };
                strategy.ask(&ctx).expect("ok")["a"].clone()
            })
            .collect();
        assert_ne!(points[0], points[1]);
    }

    #[test]
    fn running_trials_are_skipped_by_parallel_asks() {
        let s = space(vec![Param::new("a", Domain::int(1, 4))]);
        let mut strategy = create(&s, &lexicographic(), 0).expect("valid");
        let running = vec![Trial::running(0, p(&[("a", Value::Int(1))]), 0)];
        let ctx = AskContext {
            space: &s,
            directions: &[Direction::Minimize],
            seed: 0,
            trials: &[],
            running: &running,
            number: 1,
        };
        assert_eq!(strategy.ask(&ctx).expect("ok")["a"], Value::Int(2));
    }

    #[test]
    fn floats_are_spaced_evenly_with_exact_endpoints() {
        let s = space(vec![Param::new("x", Domain::float(0.0, 1.0))]);
        let xs: Vec<f64> = drain(&s, &lexicographic().with("points", 5), 0, vec![])
            .iter()
            .map(|p| p["x"].as_f64().unwrap_or(f64::NAN))
            .collect();
        assert_eq!(xs, [0.0, 0.25, 0.5, 0.75, 1.0]);

        let s = space(vec![Param::new("lr", Domain::float(1e-4, 1e-1).log())]);
        let xs: Vec<f64> = drain(&s, &lexicographic().with("points", 4), 0, vec![])
            .iter()
            .map(|p| p["lr"].as_f64().unwrap_or(f64::NAN))
            .collect();
        assert_eq!((xs[0], xs[3]), (1e-4, 1e-1));
        for (x, want) in xs.iter().zip([1e-4, 1e-3, 1e-2, 1e-1]) {
            assert!((x / want - 1.0).abs() < 1e-12, "{x} vs {want}");
        }
    }

    #[test]
    fn a_float_without_step_needs_points_or_values() {
        let s = space(vec![
            Param::new("n", Domain::int(1, 3)),
            Param::new("dropout", Domain::float(0.0, 0.5)),
        ]);
        let e = settings_error(&s, &Settings::default());
        assert!(
            e.contains("`dropout`") && e.contains("`points`") && e.contains("`values.dropout`"),
            "{e}"
        );
        let t = tree(
            &s,
            &Settings::from_json(r#"{"values": {"dropout": [0, 0.1, 0.5]}}"#).expect("json"),
        );
        assert_eq!(t.size(), 9);
        assert_eq!(t.point(1)["dropout"], Value::Float(0.1));
        // Whole numbers given for a float become floats.
        assert_eq!(t.point(0)["dropout"], Value::Float(0.0));

        // A fixed float needs neither: it is one value, with or without `points`.
        let s = space(vec![
            Param::new("n", Domain::int(1, 3)),
            Param::new("lr", Domain::float(0.1, 0.1)),
        ]);
        for settings in [Settings::default(), Settings::default().with("points", 5)] {
            let t = tree(&s, &settings);
            assert_eq!(t.size(), 3);
            assert_eq!(t.point(2)["lr"], Value::Float(0.1));
        }
    }

    #[test]
    fn explicit_values_override_ints_and_choices_and_are_checked() {
        let s = space(vec![
            Param::new("n", Domain::int(1, 100)),
            Param::new("act", Domain::choice(["relu", "tanh", "gelu"])),
        ]);
        let ok = Settings::from_json(r#"{"values": {"n": [1, 10, 100], "act": ["gelu"]}}"#)
            .expect("json");
        assert_eq!(tree(&s, &ok).size(), 3);
        for (json, want) in [
            (
                r#"{"values": {"n": [0]}}"#,
                "values.n: 0 (int) is not a value of `n`, int [1, 100]",
            ),
            (
                r#"{"values": {"n": [2.0]}}"#,
                "values.n: 2 (float) is not a value of `n`",
            ),
            (
                r#"{"values": {"act": ["elu"]}}"#,
                "values.act: elu (string) is not a value",
            ),
            (
                r#"{"values": {"n": [3, 3]}}"#,
                "values.n: 3 is listed twice",
            ),
            (r#"{"values": {"n": []}}"#, "values.n is empty"),
            (
                r#"{"values": {"m": [1]}}"#,
                "values.m: `m` is not a parameter of this space (parameters: n, act)",
            ),
            (r#"{"points": 1}"#, "points = 1: need at least 2"),
            (r#"{"point": 5}"#, "unknown field `point`"),
        ] {
            let e = settings_error(&s, &Settings::from_json(json).expect("json"));
            assert!(e.contains(want), "{json}: {e}");
        }
    }

    #[test]
    fn a_grid_over_max_points_is_refused_with_its_exact_size() {
        let s = space(vec![
            Param::new("a", Domain::int(1, 1000)),
            Param::new("b", Domain::int(1, 1000)),
            Param::new("c", Domain::int(1, 1000)),
        ]);
        let e = settings_error(&s, &Settings::default());
        assert!(
            e.contains("the grid has 1000000000 points, more than max_points = 1000000")
                && e.contains("a 1000, b 1000, c 1000")
                && e.contains("raise `max_points`"),
            "{e}"
        );
        let e = settings_error(&s, &Settings::default().with("max_points", 999_999_999));
        assert!(e.contains("1000000000 points"), "{e}");
        assert!(
            create(
                &s,
                &Settings::default().with("max_points", 1_000_000_000),
                0
            )
            .is_ok()
        );

        // Sizes past u128 saturate instead of overflowing, and nothing is enumerated.
        let huge: Vec<Param> = (0..5)
            .map(|i| {
                Param::new(
                    format!("p{i}"),
                    Domain::int(-1_000_000_000_000_000, 1_000_000_000_000_000),
                )
            })
            .collect();
        let e = settings_error(&space(huge), &Settings::default());
        assert!(e.contains(&format!("more than {}", u128::MAX - 1)), "{e}");
    }

    #[test]
    fn a_study_runs_every_point_once_and_ends() {
        let s = nested();
        let config = StudyConfig::new("g", s.clone(), vec![Direction::Minimize]).seed(4);
        let mut study = Study::new(config, &Grid, &Settings::default()).expect("valid");
        study
            .optimize_fn(Budget::trials(1000), |_, ctx| {
                if ctx.number() % 5 == 0 {
                    Err(hyperplug_core::TrialError::failed("every 5th fails"))
                } else {
                    Ok(ctx.number() as f64)
                }
            })
            .expect("bounded");
        let trials = study.finished();
        assert_eq!(trials.len(), 96);
        assert_eq!(
            trials
                .iter()
                .filter(|t| t.state == TrialState::Failed)
                .count(),
            20
        );
        let t = tree(&s, &Settings::default());
        let ranks: BTreeSet<u64> = trials.iter().filter_map(|t2| t.rank(&t2.params)).collect();
        assert_eq!(ranks.len(), 96);
    }
}
