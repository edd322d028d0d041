//! The table objective (`hyperplug-table`) as a plugin library.

hyperplug_sdk::export_plugin!(objectives: [hyperplug_table::TableFactory]);
