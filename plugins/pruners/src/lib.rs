//! The bundled pruners (`hyperplug-pruners`) as a plugin library.

hyperplug_sdk::export_plugin!(pruners: hyperplug_pruners::factories());
