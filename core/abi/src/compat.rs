//! Frozen root modules of earlier minor versions of the ABI, so that a host can check a library
//! built against one of them: abi_stable's checker refuses a library whose prefix type has fewer
//! fields than the host's, although reading the missing fields as `None` is exactly what the
//! root module's `missing_field(option)` is for. The host checks an older library's layout
//! against the frozen module of the library's own minor version, then reads it as the current
//! [`PluginModRef`](crate::PluginModRef).
//!
//! Each frozen module keeps the name `PluginMod` (the checker compares type names) and the
//! version it stands for.

use abi_stable::library::{LibHeader, LibraryError, RootModule};
use abi_stable::sabi_types::VersionStrings;
use abi_stable::type_layout::TypeLayout;
use abi_stable::{StableAbi, declare_root_module_statics};

/// ABI 1.0: the root module before `library_info`.
pub mod v1_0 {
    use abi_stable::StableAbi;
    use abi_stable::std_types::{RResult, RVec};

    use super::v1_2::FfiObjectiveFactoryBox;
    use crate::{FfiError, FfiLogSinkBox, FfiStrategyFactoryBox};

    /// The root module as ABI 1.0 defines it.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
    #[sabi(missing_field(option))]
    pub struct PluginMod {
        /// The strategy factories in this library.
        pub strategies: extern "C" fn() -> RResult<RVec<FfiStrategyFactoryBox>, FfiError>,
        /// The objective factories in this library.
        #[sabi(last_prefix_field)]
        pub objectives: extern "C" fn() -> RResult<RVec<FfiObjectiveFactoryBox>, FfiError>,
        /// Lends the library the host's logger.
        pub set_log_sink: extern "C" fn(FfiLogSinkBox) -> RResult<(), FfiError>,
    }
}

/// ABI 1.1: the root module before `pruners`.
pub mod v1_1 {
    use abi_stable::StableAbi;
    use abi_stable::std_types::{RResult, RString, RVec};

    use super::v1_2::FfiObjectiveFactoryBox;
    use crate::{FfiError, FfiLogSinkBox, FfiStrategyFactoryBox};

    /// The root module as ABI 1.1 defines it.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
    #[sabi(missing_field(option))]
    pub struct PluginMod {
        /// The strategy factories in this library.
        pub strategies: extern "C" fn() -> RResult<RVec<FfiStrategyFactoryBox>, FfiError>,
        /// The objective factories in this library.
        #[sabi(last_prefix_field)]
        pub objectives: extern "C" fn() -> RResult<RVec<FfiObjectiveFactoryBox>, FfiError>,
        /// Lends the library the host's logger.
        pub set_log_sink: extern "C" fn(FfiLogSinkBox) -> RResult<(), FfiError>,
        /// What the library says of itself, as JSON.
        pub library_info: extern "C" fn() -> RString,
    }
}

/// ABI 1.2: the root module as 1.3 has it, but reaching the trial context and the pruner
/// before 1.3 added methods to them (`FfiTrialContext::resource` and `report_values`,
/// `FfiPruner::prune_values`). A trait's methods are part of the layout the checker walks, so
/// an older library's objects are checked against these frozen copies (same names, same
/// package, fewer methods) and then called through the current traits, whose new methods fall
/// back to their defaults where the library's vtable lacks them. ABI 1.0 and 1.1 reach the
/// same frozen objective traits.
pub mod v1_2 {
    // Each #[sabi_trait] expands to impls that rustc flags as non-local.
    #![allow(non_local_definitions)]

    use abi_stable::sabi_types::RMut;
    use abi_stable::std_types::{RBox, ROption, RResult, RSlice, RStr, RString, RVec};
    use abi_stable::{StableAbi, sabi_trait};

    use crate::{
        FfiError, FfiEvaluation, FfiInfo, FfiLogSinkBox, FfiParam, FfiStrategyFactoryBox, FfiTrial,
    };

    /// The trial context as ABI 1.0–1.2 define it.
    #[sabi_trait]
    pub trait FfiTrialContext {
        /// The trial's number.
        fn number(&self) -> u64;
        /// Reports an intermediate value.
        fn report(&mut self, step: u64, value: f64);
        /// Whether the trial should stop now.
        fn should_prune(&mut self) -> bool;
        /// The devices assigned to the trial.
        fn devices(&self) -> RVec<u32>;
        /// The study's name.
        #[sabi(last_prefix_field)]
        fn study_name(&self) -> RString;
    }

    /// A borrowed host trial context, as ABI 1.0–1.2 define it.
    pub type FfiTrialContextRef<'a> = FfiTrialContext_TO<'a, RMut<'a, ()>>;

    /// The objective as ABI 1.0–1.2 define it (reaching the frozen trial context).
    #[sabi_trait]
    pub trait FfiObjective: Send + Sync {
        /// Its own space as JSON, if it defines one.
        fn space(&self) -> RResult<ROption<RString>, FfiError>;
        /// Its metrics as JSON.
        fn metrics(&self) -> RResult<RString, FfiError>;
        /// The known optimum, if any.
        fn optimum(&self) -> RResult<ROption<RVec<f64>>, FfiError>;
        /// Evaluates one trial.
        #[sabi(last_prefix_field)]
        fn evaluate(
            &self,
            params: RSlice<'_, FfiParam>,
            ctx: FfiTrialContextRef<'_>,
        ) -> RResult<FfiEvaluation, FfiError>;
        /// What each trial needs of the machine, as JSON.
        fn resources(&self) -> RResult<RString, FfiError>;
    }

    /// A boxed objective, as ABI 1.0–1.2 define it.
    pub type FfiObjectiveBox = FfiObjective_TO<'static, RBox<()>>;

    /// The objective factory as ABI 1.0–1.2 define it.
    #[sabi_trait]
    pub trait FfiObjectiveFactory: Send + Sync {
        /// Name, version, description.
        fn info(&self) -> RResult<FfiInfo, FfiError>;
        /// An objective configured by `settings` (JSON object).
        #[sabi(last_prefix_field)]
        fn create(&self, settings: RStr<'_>) -> RResult<FfiObjectiveBox, FfiError>;
    }

    /// A boxed objective factory, as ABI 1.0–1.2 define it.
    pub type FfiObjectiveFactoryBox = FfiObjectiveFactory_TO<'static, RBox<()>>;

    /// The pruner as ABI 1.2 defines it.
    #[sabi_trait]
    pub trait FfiPruner: Send {
        /// The resource trial `number` is started with.
        fn resource(&self, number: u64) -> ROption<u64>;
        /// Whether running trial `number` should stop now.
        #[sabi(last_prefix_field)]
        fn prune(
            &mut self,
            new_trials: RSlice<'_, FfiTrial>,
            running: RSlice<'_, FfiTrial>,
            number: u64,
            previous: u64,
        ) -> RResult<bool, FfiError>;
    }

    /// A boxed pruner, as ABI 1.2 defines it.
    pub type FfiPrunerBox = FfiPruner_TO<'static, RBox<()>>;

    /// The pruner factory as ABI 1.2 defines it.
    #[sabi_trait]
    pub trait FfiPrunerFactory: Send + Sync {
        /// Name, version, description, capabilities.
        fn info(&self) -> RResult<FfiInfo, FfiError>;
        /// A pruner for one study.
        #[sabi(last_prefix_field)]
        fn create(&self, setup: RStr<'_>) -> RResult<FfiPrunerBox, FfiError>;
    }

    /// A boxed pruner factory, as ABI 1.2 defines it.
    pub type FfiPrunerFactoryBox = FfiPrunerFactory_TO<'static, RBox<()>>;

    /// The root module as ABI 1.2 defines it.
    #[repr(C)]
    #[derive(StableAbi)]
    #[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
    #[sabi(missing_field(option))]
    pub struct PluginMod {
        /// The strategy factories in this library.
        pub strategies: extern "C" fn() -> RResult<RVec<FfiStrategyFactoryBox>, FfiError>,
        /// The objective factories in this library.
        #[sabi(last_prefix_field)]
        pub objectives: extern "C" fn() -> RResult<RVec<FfiObjectiveFactoryBox>, FfiError>,
        /// Lends the library the host's logger.
        pub set_log_sink: extern "C" fn(FfiLogSinkBox) -> RResult<(), FfiError>,
        /// What the library says of itself, as JSON.
        pub library_info: extern "C" fn() -> RString,
        /// The pruner factories in this library.
        pub pruners: extern "C" fn() -> RResult<RVec<FfiPrunerFactoryBox>, FfiError>,
    }
}

impl RootModule for v1_2::PluginModRef {
    declare_root_module_statics! {v1_2::PluginModRef}
    const BASE_NAME: &'static str = "hyperplug_plugin";
    const NAME: &'static str = "hyperplug plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.2.0");
}

impl RootModule for v1_1::PluginModRef {
    declare_root_module_statics! {v1_1::PluginModRef}
    const BASE_NAME: &'static str = "hyperplug_plugin";
    const NAME: &'static str = "hyperplug plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.1.0");
}

impl RootModule for v1_0::PluginModRef {
    declare_root_module_statics! {v1_0::PluginModRef}
    const BASE_NAME: &'static str = "hyperplug_plugin";
    const NAME: &'static str = "hyperplug plugin";
    const VERSION_STRINGS: VersionStrings = VersionStrings::new("1.0.0");
}

/// The layout of the frozen root module of ABI `1.minor`, for a minor version older than the
/// current one; `None` for the current minor or a newer one (checked against the current module)
/// and for one never released.
pub fn root_layout(major: u32, minor: u32) -> Option<&'static TypeLayout> {
    match (major, minor) {
        (1, 0) => Some(<v1_0::PluginModRef as StableAbi>::LAYOUT),
        (1, 1) => Some(<v1_1::PluginModRef as StableAbi>::LAYOUT),
        (1, 2) => Some(<v1_2::PluginModRef as StableAbi>::LAYOUT),
        _ => None,
    }
}

/// Checks a library's root module against the frozen root module of ABI `major.minor`, for a
/// minor version older than the current one; `None` for a version with no frozen module.
pub fn ensure_layout(
    header: &LibHeader,
    major: u32,
    minor: u32,
) -> Option<Result<(), LibraryError>> {
    match (major, minor) {
        (1, 0) => Some(header.ensure_layout::<v1_0::PluginModRef>()),
        (1, 1) => Some(header.ensure_layout::<v1_1::PluginModRef>()),
        (1, 2) => Some(header.ensure_layout::<v1_2::PluginModRef>()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use abi_stable::abi_stability::abi_checking::check_layout_compatibility;
    use abi_stable::sabi_types::VersionNumber;

    use super::*;

    /// What makes reading an older library as the current module sound: the current module,
    /// taken as a library's, passes the checker against each frozen one; and a library of the
    /// next minor version loads as it is (the checker takes its extra field as an extension).
    /// One test, in this order, because abi_stable's checker keeps what it has seen of each
    /// prefix type in process-wide state: the reverse checks at the end, which must fail,
    /// leave the smaller layouts there, and a check run after them in the same process (a
    /// parallel test) would be judged against those.
    #[test]
    fn frozen_and_newer_root_modules_pass_the_checker_and_the_reverse_does_not() {
        let current = VersionNumber::new(VersionStrings::new(crate::ABI_VERSION)).unwrap();
        assert_eq!(current.major, 1);
        check_layout_compatibility(
            <crate::PluginModRef as StableAbi>::LAYOUT,
            <next::PluginModRef as StableAbi>::LAYOUT,
        )
        .unwrap_or_else(|e| panic!("the next minor: {e}"));
        for minor in 0..current.minor {
            let frozen = root_layout(1, minor)
                .unwrap_or_else(|| panic!("ABI 1.{minor} has no frozen root module"));
            check_layout_compatibility(frozen, <crate::PluginModRef as StableAbi>::LAYOUT)
                .unwrap_or_else(|e| panic!("ABI 1.{minor}: {e}"));
        }
        assert!(root_layout(1, current.minor).is_none());
        // Not the reverse: a host of the next minor reads this version's libraries through a
        // frozen module, and 1.3 grew the trial context and the pruner by methods, which the
        // checker sees through the root module, so older libraries need the frozen traits.
        assert!(
            check_layout_compatibility(
                <next::PluginModRef as StableAbi>::LAYOUT,
                <crate::PluginModRef as StableAbi>::LAYOUT,
            )
            .is_err()
        );
        assert!(
            check_layout_compatibility(
                <crate::PluginModRef as StableAbi>::LAYOUT,
                <v1_2::PluginModRef as StableAbi>::LAYOUT,
            )
            .is_err()
        );
    }

    /// The next minor version's root module, as a library built against it would carry it: every
    /// current field and one more. (Defined in this crate because the checker compares the
    /// package that defines each type.)
    mod next {
        // Only its layout is used: no library is built from it here.
        #![allow(dead_code)]

        use abi_stable::StableAbi;
        use abi_stable::std_types::{RResult, RString, RVec};

        use crate::{
            FfiError, FfiLogSinkBox, FfiObjectiveFactoryBox, FfiPrunerFactoryBox,
            FfiStrategyFactoryBox,
        };

        #[repr(C)]
        #[derive(StableAbi)]
        #[sabi(kind(Prefix(prefix_ref = PluginModRef)))]
        #[sabi(missing_field(option))]
        pub struct PluginMod {
            pub strategies: extern "C" fn() -> RResult<RVec<FfiStrategyFactoryBox>, FfiError>,
            #[sabi(last_prefix_field)]
            pub objectives: extern "C" fn() -> RResult<RVec<FfiObjectiveFactoryBox>, FfiError>,
            pub set_log_sink: extern "C" fn(FfiLogSinkBox) -> RResult<(), FfiError>,
            pub library_info: extern "C" fn() -> RString,
            pub pruners: extern "C" fn() -> RResult<RVec<FfiPrunerFactoryBox>, FfiError>,
            pub reporters: extern "C" fn() -> RVec<RString>,
        }
    }
}
