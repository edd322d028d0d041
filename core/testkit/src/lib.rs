//! The conformance suite that every strategy passes, in-process or loaded as a plugin; for plugin authors too.
