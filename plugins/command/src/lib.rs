//! The command objective (`hyperplug-command`: any program as an objective) as a plugin library.
//!
//! Architecture invariant: a one-line shim; it depends on the SDK and the objective crate only and
//! holds no logic of its own.

hyperplug_sdk::export_plugin!(objectives: [hyperplug_command::Command]);
