//! The library's end of the host's logger: a `log::Log` in the library's own copy of `log` that
//! hands each enabled record, formatted, to the sink the host lent.

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use abi_stable::std_types::RResult;
use hyperplug_abi::{FfiError, FfiLogSinkBox, ffi_level, level_filter_from_ffi};

use crate::guard;

/// The sink the host lent most recently. Behind an `Arc` so that a record is sent without
/// holding the lock: formatting a record may log, and the host may lend a new sink meanwhile.
static SINK: RwLock<Option<Arc<FfiLogSinkBox>>> = RwLock::new(None);

/// Whether [`Forward`] is this library's logger: set once, by the first sink the host lends.
static INSTALLED: OnceLock<bool> = OnceLock::new();

fn sink() -> Option<Arc<FfiLogSinkBox>> {
    SINK.read().unwrap_or_else(PoisonError::into_inner).clone()
}

struct Forward;

impl log::Log for Forward {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        sink().is_some_and(|s| s.enabled(ffi_level(metadata.level()), metadata.target().into()))
    }

    fn log(&self, record: &log::Record<'_>) {
        let Some(sink) = sink() else { return };
        let level = ffi_level(record.level());
        let target = record.target();
        if sink.enabled(level, target.into()) {
            // The host receives text only: the arguments may borrow anything of the plugin's.
            let message = record.args().to_string();
            sink.log(level, target.into(), message.as_str().into());
        }
    }

    fn flush(&self) {}
}

/// The body of a plugin's `set_log_sink` export: from now on the library's `log` records go to
/// `sink`, at most as verbose as its maximum level. The first call installs the forwarding logger
/// in the library's `log`, unless the library installed a logger of its own, which is then left
/// alone; later calls replace the sink.
pub fn set_log_sink(sink: FfiLogSinkBox) -> RResult<(), FfiError> {
    guard(|| {
        let max = level_filter_from_ffi(sink.max_level()).unwrap_or(log::LevelFilter::Off);
        *SINK.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(sink));
        let installed = *INSTALLED.get_or_init(|| log::set_logger(&Forward).is_ok());
        if installed {
            log::set_max_level(max);
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use abi_stable::sabi_trait::TD_Opaque;
    use abi_stable::std_types::RStr;
    use hyperplug_abi::{FfiLogSink, FfiLogSink_TO};

    use super::*;

    /// A host stand-in: logs down to `max`, except target `quiet`, and keeps what it receives.
    struct Recorder {
        max: u8,
        lines: Arc<Mutex<Vec<(u8, String, String)>>>,
    }

    impl FfiLogSink for Recorder {
        fn max_level(&self) -> u8 {
            self.max
        }

        fn enabled(&self, level: u8, target: RStr<'_>) -> bool {
            level <= self.max && target.as_str() != "quiet"
        }

        fn log(&self, level: u8, target: RStr<'_>, message: RStr<'_>) {
            self.lines.lock().unwrap().push((
                level,
                target.as_str().to_owned(),
                message.as_str().to_owned(),
            ));
        }
    }

    // One test, because it sets the process's logger.
    #[test]
    fn records_reach_the_lent_sink_filtered_by_its_level_and_target() {
        let lend = |max: u8| {
            let lines = Arc::new(Mutex::new(Vec::new()));
            let recorder = Recorder {
                max,
                lines: lines.clone(),
            };
            assert!(set_log_sink(FfiLogSink_TO::from_value(recorder, TD_Opaque)).is_ok());
            lines
        };

        let lines = lend(4);
        assert_eq!(log::max_level(), log::LevelFilter::Debug);
        log::debug!("sigma {}", 0.25);
        log::trace!("too verbose for the host");
        log::info!(target: "quiet", "a target the host filters out");
        log::error!(target: "my_plugin::search", "failed");
        assert_eq!(
            *lines.lock().unwrap(),
            [
                (4, module_path!().to_owned(), "sigma 0.25".to_owned()),
                (1, "my_plugin::search".to_owned(), "failed".to_owned()),
            ]
        );

        // A second sink replaces the first, with its own level.
        let second = lend(2);
        assert_eq!(log::max_level(), log::LevelFilter::Warn);
        log::info!("below the new level");
        log::warn!("careful");
        assert_eq!(lines.lock().unwrap().len(), 2, "the first sink is replaced");
        assert_eq!(
            *second.lock().unwrap(),
            [(2, module_path!().to_owned(), "careful".to_owned())]
        );

        // A host that logs nothing: nothing crosses.
        let off = lend(0);
        assert_eq!(log::max_level(), log::LevelFilter::Off);
        log::error!("dropped");
        assert!(off.lock().unwrap().is_empty());
    }
}
