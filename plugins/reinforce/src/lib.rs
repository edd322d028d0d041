//! The REINFORCE strategy (`hyperplug-reinforce`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_reinforce::Reinforce]);
