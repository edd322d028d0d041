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

    use crate::{FfiError, FfiLogSinkBox, FfiObjectiveFactoryBox, FfiStrategyFactoryBox};

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

    use crate::{FfiError, FfiLogSinkBox, FfiObjectiveFactoryBox, FfiStrategyFactoryBox};

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
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use abi_stable::abi_stability::abi_checking::check_layout_compatibility;
    use abi_stable::sabi_types::VersionNumber;

    use super::*;

    /// What makes reading an older library as the current module sound: the current module,
    /// taken as a library's, passes the checker against each frozen one.
    #[test]
    fn every_frozen_root_module_is_a_prefix_of_the_current_one() {
        let current = VersionNumber::new(VersionStrings::new(crate::ABI_VERSION)).unwrap();
        assert_eq!(current.major, 1);
        for minor in 0..current.minor {
            let frozen = root_layout(1, minor)
                .unwrap_or_else(|| panic!("ABI 1.{minor} has no frozen root module"));
            check_layout_compatibility(frozen, <crate::PluginModRef as StableAbi>::LAYOUT)
                .unwrap_or_else(|e| panic!("ABI 1.{minor}: {e}"));
        }
        assert!(root_layout(1, current.minor).is_none());
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

    /// A library of the next minor version loads as it is: the checker takes its extra field as
    /// an extension; and a host of the next minor reads this version's libraries through the
    /// frozen module, which is what the rule needs from the other side.
    #[test]
    fn a_newer_minor_root_module_passes_the_checker_as_it_is() {
        check_layout_compatibility(
            <crate::PluginModRef as StableAbi>::LAYOUT,
            <next::PluginModRef as StableAbi>::LAYOUT,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        // Not the reverse: why older libraries need the frozen modules.
        assert!(
            check_layout_compatibility(
                <next::PluginModRef as StableAbi>::LAYOUT,
                <crate::PluginModRef as StableAbi>::LAYOUT,
            )
            .is_err()
        );
    }
}
