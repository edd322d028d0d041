//! The grid strategy (`hyperplug-grid`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_grid::Grid]);
