//! The network's hyperparameters: their defaults, the default search space, and reading them
//! from a trial's parameters.

use hyperplug_core::{Domain, Param, Params, Space, SpaceError, Value};

/// How weights follow their gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Optimizer {
    /// Stochastic gradient descent with (heavy-ball) momentum: `v = μv + g; w -= lr·v`.
    Sgd,
    /// Adam (β₁ = 0.9, β₂ = 0.999, ε = 1e-8) with bias correction.
    Adam,
}

/// The nonlinearity after each hidden layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    /// max(0, x).
    Relu,
    /// tanh x.
    Tanh,
    /// x·Φ(x), with the exact Gaussian CDF (erf).
    Gelu,
    /// 1 / (1 + e^−x).
    Sigmoid,
}

impl Activation {
    /// Its name in parameters.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Gelu => "gelu",
            Activation::Sigmoid => "sigmoid",
        }
    }
}

/// Adam's decay of the first moment.
pub const ADAM_BETA1: f64 = 0.9;
/// Adam's decay of the second moment.
pub const ADAM_BETA2: f64 = 0.999;
/// Adam's guard against division by zero.
pub const ADAM_EPS: f64 = 1e-8;

/// The most hidden layers a trial may ask for.
pub const MAX_LAYERS: usize = 8;
/// The most units a hidden layer may ask for.
pub const MAX_UNITS: usize = 65_536;

/// The parameter names the objective reads, for messages.
pub const PARAM_NAMES: &str = "lr, batch_size, optimizer, momentum, l1, l2, dropout, layers, units, units_1 … units_8, activation, epochs, and per layer activation_k, dropout_k, skip_k";

/// Everything that shapes one training run. Each field has a default, used when a study's space
/// leaves that parameter out (see [`Hyperparams::default`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Hyperparams {
    /// `lr`: the step size; default 1e-3.
    pub lr: f64,
    /// `batch_size`: rows per step (the last batch of an epoch may be smaller; a batch larger
    /// than the training rows is all of them); default 32.
    pub batch_size: usize,
    /// `optimizer`: `"adam"` or `"sgd"`; default Adam.
    pub optimizer: Optimizer,
    /// `momentum`: SGD's momentum, in [0, 1); ignored by Adam; default 0.9.
    pub momentum: f64,
    /// `l1`: the weight of Σ|w| over the weight matrices (not biases) in the loss; default 0.
    pub l1: f64,
    /// `l2`: the weight of Σw² over the weight matrices in the loss; default 0.
    pub l2: f64,
    /// `dropout`: the probability of zeroing each hidden unit while training (inverted dropout:
    /// survivors are scaled by 1/(1 − p)), in [0, 1); default 0.
    pub dropout: f64,
    /// `units_1`, `units_2`, …: the width of each hidden layer, first to last. `layers` (default
    /// 2) sets how many; `units` (default 128) is the width of any layer whose `units_k` is absent.
    pub hidden: Vec<usize>,
    /// `activation`: `"relu"`, `"tanh"`, `"gelu"` or `"sigmoid"`; default relu.
    pub activation: Activation,
    /// `epochs`: passes over the training rows; default 30.
    pub epochs: usize,
    /// The architecture mode: one entry per hidden layer when any of `activation_k`,
    /// `dropout_k` or `skip_k` is given (as a `[space.layers]` block with `repeat` writes them),
    /// each layer's own activation, dropout and shortcut; empty otherwise, every layer then
    /// taking `activation` and `dropout`.
    pub layers: Vec<LayerSpec>,
}

/// One hidden layer of the architecture mode.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerSpec {
    /// `activation_k`; `activation` when absent.
    pub activation: Activation,
    /// `dropout_k`; `dropout` when absent.
    pub dropout: f64,
    /// `skip_k`: add the layer's input to its output (a residual shortcut, ResNet's
    /// parameter-free "option A": the input is cut or zero-padded to the layer's width).
    pub skip: bool,
}

impl Default for Hyperparams {
    fn default() -> Self {
        Hyperparams {
            lr: 1e-3,
            batch_size: 32,
            optimizer: Optimizer::Adam,
            momentum: 0.9,
            l1: 0.0,
            l2: 0.0,
            dropout: 0.0,
            hidden: vec![128; 2],
            activation: Activation::Relu,
            epochs: 30,
            layers: Vec::new(),
        }
    }
}

impl Hyperparams {
    /// Reads a trial's parameters; absent ones take their defaults. Unknown names, wrong types
    /// and values out of range are refused with a message naming the parameter. `max_epochs`
    /// bounds `epochs`.
    pub fn from_params(params: &Params, max_epochs: usize) -> Result<Hyperparams, String> {
        let mut h = Hyperparams::default();
        for name in params.keys() {
            let known = matches!(
                name.as_str(),
                "lr" | "batch_size"
                    | "optimizer"
                    | "momentum"
                    | "l1"
                    | "l2"
                    | "dropout"
                    | "layers"
                    | "units"
                    | "activation"
                    | "epochs"
            ) || unit_index(name).is_some()
                || ["activation_", "dropout_", "skip_"]
                    .iter()
                    .any(|p| layer_index(name, p).is_some());
            if !known {
                return Err(format!(
                    "parameter `{name}` is not one the mlp reads ({PARAM_NAMES})"
                ));
            }
        }
        if let Some(v) = params.get("lr") {
            h.lr = float(v, "lr", |x| x > 0.0, "a positive number")?;
        }
        if let Some(v) = params.get("batch_size") {
            h.batch_size = int(v, "batch_size", 1, usize::MAX)?;
        }
        if let Some(v) = params.get("optimizer") {
            h.optimizer = match v.as_str() {
                Some("adam") => Optimizer::Adam,
                Some("sgd") => Optimizer::Sgd,
                _ => {
                    return Err(format!(
                        "parameter `optimizer` is {v}; use \"adam\" or \"sgd\""
                    ));
                }
            };
        }
        if let Some(v) = params.get("momentum") {
            h.momentum = float(v, "momentum", |x| (0.0..1.0).contains(&x), "in [0, 1)")?;
        }
        if let Some(v) = params.get("l1") {
            h.l1 = float(v, "l1", |x| x >= 0.0, "≥ 0")?;
        }
        if let Some(v) = params.get("l2") {
            h.l2 = float(v, "l2", |x| x >= 0.0, "≥ 0")?;
        }
        if let Some(v) = params.get("dropout") {
            h.dropout = float(v, "dropout", |x| (0.0..1.0).contains(&x), "in [0, 1)")?;
        }
        let layers = match params.get("layers") {
            Some(v) => int(v, "layers", 1, MAX_LAYERS)?,
            None => h.hidden.len(),
        };
        let width = match params.get("units") {
            Some(v) => int(v, "units", 1, MAX_UNITS)?,
            None => h.hidden[0],
        };
        h.hidden = (1..=layers)
            .map(|k| match params.get(&format!("units_{k}")) {
                Some(v) => int(v, &format!("units_{k}"), 1, MAX_UNITS),
                None => Ok(width),
            })
            .collect::<Result<_, _>>()?;
        if let Some(k) = params
            .keys()
            .filter_map(|n| unit_index(n))
            .find(|&k| k > layers)
        {
            return Err(format!(
                "parameter `units_{k}` is given but `layers` = {layers}; make it conditional on layers ≥ {k}"
            ));
        }
        if let Some(v) = params.get("activation") {
            h.activation = activation(v, "activation")?;
        }
        let per_layer: Vec<(&str, usize)> = params
            .keys()
            .filter_map(|n| {
                ["activation_", "dropout_", "skip_"]
                    .iter()
                    .find_map(|p| layer_index(n, p).map(|k| (n.as_str(), k)))
            })
            .collect();
        if let Some((name, k)) = per_layer.iter().find(|&&(_, k)| k > layers) {
            return Err(format!(
                "parameter `{name}` is given but `layers` = {layers}; make it conditional on layers ≥ {k} (a `[space.layers]` block with `repeat` does)"
            ));
        }
        if !per_layer.is_empty() {
            h.layers = (1..=layers)
                .map(|k| {
                    let spec = LayerSpec {
                        activation: match params.get(&format!("activation_{k}")) {
                            Some(v) => activation(v, &format!("activation_{k}"))?,
                            None => h.activation,
                        },
                        dropout: match params.get(&format!("dropout_{k}")) {
                            Some(v) => float(
                                v,
                                &format!("dropout_{k}"),
                                |x| (0.0..1.0).contains(&x),
                                "in [0, 1)",
                            )?,
                            None => h.dropout,
                        },
                        skip: match params.get(&format!("skip_{k}")) {
                            None => false,
                            Some(Value::Bool(b)) => *b,
                            Some(v) => {
                                return Err(format!(
                                    "parameter `skip_{k}` is {v}; it must be true or false"
                                ));
                            }
                        },
                    };
                    Ok(spec)
                })
                .collect::<Result<_, String>>()?;
        }
        if let Some(v) = params.get("epochs") {
            h.epochs = int(v, "epochs", 1, max_epochs).map_err(|e| {
                format!("{e} (the objective's `max_epochs` setting is {max_epochs})")
            })?;
        } else if h.epochs > max_epochs {
            h.epochs = max_epochs;
        }
        Ok(h)
    }

    /// The layer widths from input to output.
    pub fn widths(&self, inputs: usize, outputs: usize) -> Vec<usize> {
        std::iter::once(inputs)
            .chain(self.hidden.iter().copied())
            .chain(std::iter::once(outputs))
            .collect()
    }

    /// The number of weights and biases of the network.
    pub fn param_count(&self, inputs: usize, outputs: usize) -> usize {
        self.widths(inputs, outputs)
            .windows(2)
            .map(|w| w[0] * w[1] + w[1])
            .sum()
    }
}

/// `units_k` → k.
/// Layer `k` of a per-layer name `{prefix}k`, for `k` in `1..=MAX_LAYERS`.
fn layer_index(name: &str, prefix: &str) -> Option<usize> {
    name.strip_prefix(prefix)?
        .parse::<usize>()
        .ok()
        .filter(|k| (1..=MAX_LAYERS).contains(k))
}

fn activation(v: &Value, name: &str) -> Result<Activation, String> {
    match v.as_str() {
        Some("relu") => Ok(Activation::Relu),
        Some("tanh") => Ok(Activation::Tanh),
        Some("gelu") => Ok(Activation::Gelu),
        Some("sigmoid") => Ok(Activation::Sigmoid),
        _ => Err(format!(
            "parameter `{name}` is {v}; use \"relu\", \"tanh\", \"gelu\" or \"sigmoid\""
        )),
    }
}

fn unit_index(name: &str) -> Option<usize> {
    name.strip_prefix("units_")?
        .parse::<usize>()
        .ok()
        .filter(|k| (1..=MAX_LAYERS).contains(k))
}

fn float(v: &Value, name: &str, ok: impl Fn(f64) -> bool, want: &str) -> Result<f64, String> {
    match v.as_f64() {
        Some(x) if x.is_finite() && ok(x) => Ok(x),
        Some(x) => Err(format!("parameter `{name}` is {x}; it must be {want}")),
        None => Err(format!(
            "parameter `{name}` is a {} ({v}); it must be a number {want}",
            v.type_name()
        )),
    }
}

fn int(v: &Value, name: &str, low: usize, high: usize) -> Result<usize, String> {
    let range = if high == usize::MAX {
        format!("≥ {low}")
    } else {
        format!("in [{low}, {high}]")
    };
    match v.as_i64() {
        Some(i) => usize::try_from(i)
            .ok()
            .filter(|&u| (low..=high).contains(&u))
            .ok_or_else(|| format!("parameter `{name}` is {i}; it must be a whole number {range}")),
        None => Err(format!(
            "parameter `{name}` is a {} ({v}); it must be a whole number {range}",
            v.type_name()
        )),
    }
}

/// The search space the objective offers when the study declares none:
///
/// | parameter | values |
/// |---|---|
/// | `lr` | float [1e-4, 0.1], log |
/// | `batch_size` | 16, 32, 64, 128 |
/// | `optimizer` | adam, sgd |
/// | `momentum` | float [0, 0.99], when optimizer = sgd |
/// | `l1` | float [1e-8, 1e-3], log (the floor is zero in effect) |
/// | `l2` | float [1e-8, 1e-2], log |
/// | `dropout` | float [0, 0.5] |
/// | `layers` | int [1, 3] |
/// | `units_1` | int [16, 512], log |
/// | `units_2`, `units_3` | int [16, 512], log, when layers ≥ 2, ≥ 3 |
/// | `activation` | relu, tanh, gelu |
/// | `epochs` | int [10, 100] (capped at `max_epochs`) |
pub fn default_space(max_epochs: usize) -> Result<Space, SpaceError> {
    let max_epochs = i64::try_from(max_epochs).unwrap_or(i64::MAX).max(1);
    let units = || Domain::int(16, 512).log();
    Space::new(vec![
        Param::new("lr", Domain::float(1e-4, 0.1).log()),
        Param::new("batch_size", Domain::choice([16i64, 32, 64, 128])),
        Param::new("optimizer", Domain::choice(["adam", "sgd"])),
        Param::new("momentum", Domain::float(0.0, 0.99)).when("optimizer", ["sgd"]),
        Param::new("l1", Domain::float(1e-8, 1e-3).log()),
        Param::new("l2", Domain::float(1e-8, 1e-2).log()),
        Param::new("dropout", Domain::float(0.0, 0.5)),
        Param::new("layers", Domain::int(1, 3)),
        Param::new("units_1", units()),
        Param::new("units_2", units()).when("layers", [2i64, 3]),
        Param::new("units_3", units()).when("layers", [3i64]),
        Param::new("activation", Domain::choice(["relu", "tanh", "gelu"])),
        Param::new(
            "epochs",
            Domain::int(10.min(max_epochs), 100.min(max_epochs)),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, Value)]) -> Params {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn defaults_fill_what_the_space_leaves_out() {
        let h = Hyperparams::from_params(&params(&[("lr", 0.01.into())]), 500).unwrap();
        assert_eq!(
            h,
            Hyperparams {
                lr: 0.01,
                ..Hyperparams::default()
            }
        );
        let h = Hyperparams::from_params(
            &params(&[
                ("layers", 3.into()),
                ("units", 10.into()),
                ("units_2", 7.into()),
                ("optimizer", "sgd".into()),
                ("activation", "tanh".into()),
                ("epochs", 4.into()),
            ]),
            500,
        )
        .unwrap();
        assert_eq!(h.hidden, [10, 7, 10]);
        assert_eq!(h.optimizer, Optimizer::Sgd);
        assert_eq!(h.activation, Activation::Tanh);
        assert_eq!(h.epochs, 4);
        // 4 → 10 → 7 → 10 → 3: (40 + 10) + (70 + 7) + (70 + 10) + (30 + 3).
        assert_eq!(h.param_count(4, 3), 240);
        assert_eq!(
            Hyperparams::from_params(&Params::new(), 12).unwrap().epochs,
            12
        );
    }

    #[test]
    fn bad_parameters_are_named() {
        let err =
            |pairs: &[(&str, Value)]| Hyperparams::from_params(&params(pairs), 50).unwrap_err();
        assert!(
            err(&[("lrate", 0.1.into())]).starts_with("parameter `lrate` is not one the mlp reads")
        );
        assert_eq!(
            err(&[("lr", (-1.0).into())]),
            "parameter `lr` is -1; it must be a positive number"
        );
        assert_eq!(
            err(&[("batch_size", 3.5.into())]),
            "parameter `batch_size` is a float (3.5); it must be a whole number ≥ 1"
        );
        assert_eq!(
            err(&[("epochs", 80.into())]),
            "parameter `epochs` is 80; it must be a whole number in [1, 50] (the objective's `max_epochs` setting is 50)"
        );
        assert!(err(&[("optimizer", "rmsprop".into())]).contains("use \"adam\" or \"sgd\""));
        assert!(
            err(&[("layers", 1.into()), ("units_2", 8.into())])
                .contains("make it conditional on layers ≥ 2")
        );
        assert_eq!(
            err(&[("dropout", 1.0.into())]),
            "parameter `dropout` is 1; it must be in [0, 1)"
        );
    }

    #[test]
    fn the_default_space_is_conditional_on_depth() {
        let space = default_space(500).unwrap();
        assert_eq!(space.len(), 13);
        let units_3 = space.get("units_3").unwrap();
        let mut chosen = Params::new();
        chosen.insert("layers".into(), Value::Int(2));
        assert!(!space.is_active(units_3, &chosen));
        chosen.insert("layers".into(), Value::Int(3));
        assert!(space.is_active(units_3, &chosen));
        assert_eq!(space.get("epochs").unwrap().domain, Domain::int(10, 100));
        let capped = default_space(5).unwrap();
        assert_eq!(capped.get("epochs").unwrap().domain, Domain::int(5, 5));
    }
}
