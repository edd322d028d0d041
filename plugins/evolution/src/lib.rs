//! The regularized-evolution strategy (`hyperplug-evolution`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_evolution::Evolution]);
