//! Write hyperplug plugins.
//!
//! Implement [`StrategyFactory`], [`ObjectiveFactory`] or [`PrunerFactory`] (re-exported from
//! `hyperplug-core`) as you would for an in-process algorithm, then export any number of them
//! from a `cdylib` crate:
//!
//! ```ignore
//! hyperplug_sdk::export_plugin! {
//!     strategies: [my_crate::MySampler],
//!     objectives: [my_crate::MyObjective],
//!     pruners: [my_crate::MyPruner],
//! }
//! ```
//!
//! What an objective declares of itself — its space, metrics, optimum, and the resources each
//! trial needs ([`Objective::resources`], e.g. one GPU) — reaches the host as it would
//! in-process. The macro writes the library's root module. Every call from the host goes through
//! an adapter that catches panics (a panic must never unwind across the FFI boundary: it would end
//! the host) and turns them, and every error, into an error value the host reports with the trial;
//! a panic while the host drops a strategy, objective, pruner or factory is logged as a warning.
//!
//! Log with the `log` crate (a dependency of your own, or [`log`] re-exported here): records go to
//! the host's log, filtered by the host's level and `RUST_LOG` targets (a record's target is its
//! module path unless it names another) and written in the host's format. A library has its own
//! copy of `log`, with no logger of its own: the root module the macro writes lets the host lend
//! it the host's logger ([`set_log_sink`]) as soon as it loads the library, before it asks for
//! the factories.
//!
//! Architecture invariant: this crate defines no `#[repr(C)]` types (those live in
//! `hyperplug-abi`) and loads no libraries.
#![warn(missing_docs)]

mod adapter;
mod logging;

pub use adapter::{export_objectives, export_pruners, export_strategies, guard};
/// The domain model, so that a plugin needs no other hyperplug dependency.
pub use hyperplug_core::*;
/// The `log` crate, whose records a plugin library sends to the host's log.
pub use log;
pub use logging::set_log_sink;
/// The `rand` crate at the version [`trial_rng`] hands out generators of: use its traits
/// (`hyperplug_sdk::rand::Rng`) rather than a `rand` of your own, which may be another version.
pub use rand;
/// The `serde` crate, with `derive`, for a plugin's settings struct
/// (`#[derive(hyperplug_sdk::serde::Deserialize)] #[serde(crate = "hyperplug_sdk::serde")]`).
pub use serde;

/// The version of this SDK, which a library reports to the host with its own.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The plugin ABI version this SDK builds libraries against.
pub const ABI_VERSION: &str = hyperplug_abi::ABI_VERSION;

/// What a library built with [`export_plugin!`] says of itself, as JSON.
#[doc(hidden)]
pub fn library_info_json(name: &str, version: &str) -> String {
    serde_json::to_string(&hyperplug_abi::LibraryInfoJson {
        name: name.to_owned(),
        version: version.to_owned(),
        sdk: SDK_VERSION.to_owned(),
    })
    .unwrap_or_default()
}

#[doc(hidden)]
pub mod __private {
    pub use abi_stable;
    pub use hyperplug_abi;
}

/// The symbol every plugin library exports: abi_stable's mangled root-module loader name.
#[doc(hidden)]
pub const ROOT_MODULE_SYMBOL: &str = "_1as_0lib_1header_0root_bmodule_bloader";

/// Exports strategy, objective and pruner factories as a hyperplug plugin library. Use it once,
/// in a crate with `crate-type = ["cdylib"]`.
///
/// Either list the factories (expressions of types that implement `StrategyFactory` under
/// `strategies`, `ObjectiveFactory` under `objectives`, `PrunerFactory` under `pruners`), or
/// give expressions that return a `Vec<Box<dyn StrategyFactory>>` / `Vec<Box<dyn
/// ObjectiveFactory>>` / `Vec<Box<dyn PrunerFactory>>`. Any kind may be left out; those given
/// come in this order.
///
/// ```ignore
/// hyperplug_sdk::export_plugin! {
///     strategies: [MySampler, MyOtherSampler],
///     objectives: [MyObjective],
/// }
/// hyperplug_sdk::export_plugin!(objectives: my_crate::all_objectives());
/// hyperplug_sdk::export_plugin!(pruners: my_crate::all_pruners());
/// ```
#[macro_export]
macro_rules! export_plugin {
    (strategies: [$($s:expr),* $(,)?], objectives: [$($o:expr),* $(,)?], pruners: [$($p:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(@all
            ::std::vec![$(::std::boxed::Box::new($s) as ::std::boxed::Box<dyn $crate::StrategyFactory>),*],
            ::std::vec![$(::std::boxed::Box::new($o) as ::std::boxed::Box<dyn $crate::ObjectiveFactory>),*],
            ::std::vec![$(::std::boxed::Box::new($p) as ::std::boxed::Box<dyn $crate::PrunerFactory>),*]
        );
    };
    (strategies: [$($s:expr),* $(,)?], pruners: [$($p:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(strategies: [$($s),*], objectives: [], pruners: [$($p),*]);
    };
    (objectives: [$($o:expr),* $(,)?], pruners: [$($p:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(strategies: [], objectives: [$($o),*], pruners: [$($p),*]);
    };
    (pruners: [$($p:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(strategies: [], objectives: [], pruners: [$($p),*]);
    };
    (strategies: $s:expr, objectives: $o:expr, pruners: $p:expr $(,)?) => {
        $crate::export_plugin!(@all $s, $o, $p);
    };
    (pruners: $p:expr $(,)?) => {
        $crate::export_plugin!(@all ::std::vec::Vec::new(), ::std::vec::Vec::new(), $p);
    };
    (strategies: [$($s:expr),* $(,)?], objectives: [$($o:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(@vecs
            ::std::vec![$(::std::boxed::Box::new($s) as ::std::boxed::Box<dyn $crate::StrategyFactory>),*],
            ::std::vec![$(::std::boxed::Box::new($o) as ::std::boxed::Box<dyn $crate::ObjectiveFactory>),*]
        );
    };
    (strategies: [$($s:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(strategies: [$($s),*], objectives: []);
    };
    (objectives: [$($o:expr),* $(,)?] $(,)?) => {
        $crate::export_plugin!(strategies: [], objectives: [$($o),*]);
    };
    (strategies: $s:expr, objectives: $o:expr $(,)?) => {
        $crate::export_plugin!(@vecs $s, $o);
    };
    (strategies: $s:expr $(,)?) => {
        $crate::export_plugin!(@vecs $s, ::std::vec::Vec::new());
    };
    (objectives: $o:expr $(,)?) => {
        $crate::export_plugin!(@vecs ::std::vec::Vec::new(), $o);
    };
    (@vecs $s:expr, $o:expr) => {
        $crate::export_plugin!(@all $s, $o, ::std::vec::Vec::new());
    };
    (@all $s:expr, $o:expr, $p:expr) => {
        const _: () = {
            use $crate::__private::{abi_stable, hyperplug_abi};

            extern "C" fn strategies() -> abi_stable::std_types::RResult<
                abi_stable::std_types::RVec<hyperplug_abi::FfiStrategyFactoryBox>,
                hyperplug_abi::FfiError,
            > {
                $crate::export_strategies(|| $s)
            }

            extern "C" fn objectives() -> abi_stable::std_types::RResult<
                abi_stable::std_types::RVec<hyperplug_abi::FfiObjectiveFactoryBox>,
                hyperplug_abi::FfiError,
            > {
                $crate::export_objectives(|| $o)
            }

            extern "C" fn pruners() -> abi_stable::std_types::RResult<
                abi_stable::std_types::RVec<hyperplug_abi::FfiPrunerFactoryBox>,
                hyperplug_abi::FfiError,
            > {
                $crate::export_pruners(|| $p)
            }

            extern "C" fn set_log_sink(
                sink: hyperplug_abi::FfiLogSinkBox,
            ) -> abi_stable::std_types::RResult<(), hyperplug_abi::FfiError> {
                $crate::set_log_sink(sink)
            }

            // The library's own name and version: the crate that uses this macro.
            extern "C" fn library_info() -> abi_stable::std_types::RString {
                $crate::library_info_json(env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION")).into()
            }

            fn root_module() -> hyperplug_abi::PluginModRef {
                use abi_stable::prefix_type::PrefixTypeTrait;
                hyperplug_abi::PluginMod {
                    strategies,
                    objectives,
                    set_log_sink,
                    library_info,
                    pruners,
                }
                .leak_into_prefix()
            }

            extern "C" fn erased_root_module() -> abi_stable::library::RootModuleResult {
                abi_stable::library::__call_root_module_loader(root_module)
            }

            // What `#[abi_stable::export_root_module]` expands to, written out so that plugin
            // crates need no direct abi_stable dependency and build on edition 2024.
            #[unsafe(export_name = "_1as_0lib_1header_0root_bmodule_bloader")]
            static ROOT_MODULE_LOADER: abi_stable::library::LibHeader = unsafe {
                abi_stable::library::LibHeader::from_constructor::<hyperplug_abi::PluginModRef>(
                    erased_root_module,
                    abi_stable::library::CheckTypeLayout::Yes,
                )
            };
        };
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_exported_symbol_is_the_one_abi_stable_looks_up() {
        assert_eq!(
            super::ROOT_MODULE_SYMBOL,
            abi_stable::library::ROOT_MODULE_LOADER_NAME
        );
    }
}
