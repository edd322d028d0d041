//! The random strategy (`hyperplug-random`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_random::Random]);
