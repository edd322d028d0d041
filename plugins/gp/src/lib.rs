//! The GP strategy (`hyperplug-gp`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_gp::Gp]);
