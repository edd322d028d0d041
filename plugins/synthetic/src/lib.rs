//! The synthetic benchmark functions (`hyperplug-synthetic`) as a plugin library.

hyperplug_sdk::export_plugin!(objectives: hyperplug_synthetic::factories());
