//! The scrambled-Sobol strategy (`hyperplug-qmc`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_qmc::Qmc]);
