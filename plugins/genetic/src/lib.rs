//! The genetic algorithm and differential evolution (`hyperplug-genetic`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_genetic::Genetic, hyperplug_genetic::DifferentialEvolution]);
