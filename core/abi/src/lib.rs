//! The stable plugin ABI of hyperplug.
//!
//! A plugin library exports one root module, [`PluginModRef`], through which the host reaches
//! every strategy factory and objective factory the library holds, and lends the library its
//! logger ([`FfiLogSink`]). Everything that crosses the boundary is an FFI-safe mirror of a
//! `hyperplug-core` type, defined here and nowhere else. Hot-path data (parameters, trials)
//! travel as `#[repr(C)]` values; cold, rich data (spaces, settings, metric lists, an objective's
//! per-trial resources) travel as JSON text, so they can grow without breaking layouts.
//!
//! Architecture invariant: this is the only crate that defines `#[repr(C)]` / `StableAbi` types
//! (the fixture libraries that are built to fail are the deliberate exception). It loads nothing:
//! only the host loads libraries.
//!
//! Versioning: abi_stable compares this crate's version, then the layouts. While it is 0.y, a
//! library built against an older 0.y than the host's is refused outright; a newer one loads only
//! if its layout extends the host's. New trait methods and root-module fields go after the
//! `last_prefix_field`, which never moves (moving it changes the prefix every library shares):
//! then a library built after an addition still loads into a host built before it, which ignores
//! what it does not know. Not the reverse: a host refuses a library built before an addition by
//! its layout (abi_stable's "too many fields": the library lacks what the host may call), and the
//! library must be rebuilt.
#![warn(missing_docs)]
// Each #[sabi_trait] expands to impls that rustc flags as non-local; that is how abi_stable works.
#![allow(non_local_definitions)]

mod convert;
mod level;
mod types;

pub use convert::{from_ffi_params, from_ffi_trial, to_ffi_params, to_ffi_trial};
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

/// The ABI version this build of the interface speaks: a library must have been built against a
/// compatible one to load.
pub const ABI_VERSION: &str = env!("CARGO_PKG_VERSION");

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
