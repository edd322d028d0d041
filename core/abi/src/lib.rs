//! The stable plugin ABI of hyperplug.
//!
//! A plugin library exports one root module, [`PluginModRef`], through which the host reaches
//! every strategy, objective and pruner factory the library holds, and lends the library its
//! logger ([`FfiLogSink`]). Everything that crosses the boundary is an FFI-safe mirror of a
//! `hyperplug-core` type, defined here and nowhere else. Hot-path data (parameters, trials)
//! travel as `#[repr(C)]` values; cold, rich data (spaces, settings, metric lists, an objective's
//! per-trial resources) travel as JSON text, so they can grow without breaking layouts.
//!
//! Architecture invariant: this is the only crate that defines `#[repr(C)]` / `StableAbi` types
//! (the fixture libraries that are built to fail are the deliberate exception). It loads nothing:
//! only the host loads libraries.
//!
//! # Versioning
//!
//! This crate is versioned on its own, as semver of the ABI, not of the host: the host speaks
//! [`ABI_VERSION`] and loads a library built against any version with the same major number,
//! older or newer minor alike.
//!
//! - **Minor** (1.0 → 1.1): additions only, each at the end of a prefix type (the root module's
//!   fields after `objectives`, a trait's methods after its `last_prefix_field`, which never
//!   move), each optional for the reader. A newer library carries fields the host ignores. An
//!   older library lacks fields the host knows: abi_stable's checker alone would refuse it ("too
//!   many fields"), so the host checks it against the frozen root module of the library's own
//!   minor version, kept in [`compat`], and then reads the missing fields as `None`.
//! - **Major** (1.x → 2.0): anything else (a changed or removed field, type or method). Libraries
//!   of another major version are refused with both versions and what to do.
//! - **Patch**: documentation and fixes that change no layout.
//!
//! Sets that grow (capabilities, error kinds, trial states) are not enums or structs of flags:
//! capabilities travel as a JSON list of names, error kinds and trial states as `u8` codes whose
//! unknown values have a documented meaning. Adding one is a minor version, or none at all.
//!
//! Adding a root-module field (e.g. a list of pruner factories) in version 1.N: copy the current
//! root module into `compat::v1_{N-1}` (with its `VERSION_STRINGS`), add the field at the end of
//! [`PluginMod`], bump this crate's minor version, and let the host handle `None` from the new
//! accessor. A test asserts each frozen module is a prefix of the current one.
//!
//! A new method on an existing `#[sabi_trait]` changes that trait's vtable, which the frozen
//! modules reach too: the frozen module must then keep a frozen copy of the trait (same name,
//! same package, the old methods), and the new method needs a default body, which abi_stable
//! runs where an older library's vtable lacks the method. 1.3 did this for the trial context
//! (`resource`, `report_values`) and the pruner (`prune_values`): `compat::v1_2` holds the
//! traits as they were, and the 1.0 and 1.1 modules reach them too; the `abi-1-2` fixture
//! checks that such a library loads and runs. A new trait, reached through a new root-module
//! field, which older libraries simply lack, avoids the frozen copies.
#![warn(missing_docs)]
// Each #[sabi_trait] expands to impls that rustc flags as non-local; that is how abi_stable works.
#![allow(non_local_definitions)]

pub mod compat;
mod convert;
mod level;
mod types;

pub use convert::{
    capabilities_from_json, capabilities_to_json, from_ffi_info, from_ffi_params, from_ffi_trial,
    to_ffi_params, to_ffi_trial, to_ffi_vectors,
};
pub use level::{ffi_level, ffi_level_filter, level_filter_from_ffi, level_from_ffi};
pub use types::*;

pub use abi_stable;

use abi_stable::library::RootModule;
use abi_stable::sabi_types::VersionStrings;
use abi_stable::{declare_root_module_statics, package_version_strings};

impl RootModule for PluginModRef {
    declare_root_module_statics! {PluginModRef}
    const BASE_NAME: &'static str = "hyperplug_plugin";
    const NAME: &'static str = "hyperplug plugin";
    const VERSION_STRINGS: VersionStrings = package_version_strings!();
}

/// The ABI version this build of the interface speaks: this crate's own version. A host loads a
/// library built against any version with the same major number.
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a library says of itself through [`PluginMod::library_info`] (since ABI 1.1), as JSON.
/// Unknown keys are ignored, so it can grow.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LibraryInfoJson {
    /// The library crate's name.
    #[serde(default)]
    pub name: String,
    /// The library crate's version: the plugin's own version.
    #[serde(default)]
    pub version: String,
    /// The hyperplug-sdk version it was built with.
    #[serde(default)]
    pub sdk: String,
}

/// What a pruner factory's `create` receives, as JSON.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct PrunerSetupJson {
    /// One direction per objective.
    pub directions: Vec<hyperplug_core::Direction>,
    /// The study's seed.
    pub seed: u64,
    /// The pruner's settings.
    pub settings: hyperplug_core::Settings,
}

/// What a strategy factory's `create` receives, as JSON: the cold, rich part of a study's set-up.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct SetupJson {
    /// The space.
    pub space: hyperplug_core::Space,
    /// One direction per objective.
    pub directions: Vec<hyperplug_core::Direction>,
    /// The study's seed.
    pub seed: u64,
    /// The strategy's settings.
    pub settings: hyperplug_core::Settings,
}
