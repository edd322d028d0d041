//! The bundled pruners (`hyperplug-pruners`) and BOHB's sampler (`hyperplug-bohb`), which goes
//! with them, as a plugin library.

hyperplug_sdk::export_plugin!(
    strategies: vec![Box::new(hyperplug_bohb::Bohb) as Box<dyn hyperplug_sdk::StrategyFactory>],
    objectives: Vec::new(),
    pruners: hyperplug_pruners::factories(),
);
