//! The TPE strategy (`hyperplug-tpe`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_tpe::Tpe]);
