//! NSGA-II and NSGA-III (`hyperplug-nsga`) as a plugin library.

hyperplug_sdk::export_plugin!(strategies: [hyperplug_nsga::Nsga2, hyperplug_nsga::Nsga3]);
