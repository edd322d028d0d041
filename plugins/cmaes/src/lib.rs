//! The CMA-ES strategy (`hyperplug-cmaes`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_cmaes::CmaEs]);
