//! The built library, loaded as hyperplug loads it, passes the conformance suite.

#[test]
fn the_built_library_passes_the_conformance_suite() {
    hyperplug_testkit::check_library(hyperplug_testkit::built_library(env!("CARGO_PKG_NAME")));
}
