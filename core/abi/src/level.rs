//! Log levels as they cross the boundary in [`FfiLogSink`](crate::FfiLogSink) calls: the numbers
//! `log` gives them, so both sides agree whatever copy of `log` each links.

/// A level as it crosses: 1 error, 2 warn, 3 info, 4 debug, 5 trace.
pub fn ffi_level(level: log::Level) -> u8 {
    match level {
        log::Level::Error => 1,
        log::Level::Warn => 2,
        log::Level::Info => 3,
        log::Level::Debug => 4,
        log::Level::Trace => 5,
    }
}

/// The level a number stands for; `None` for a number that stands for none.
pub fn level_from_ffi(level: u8) -> Option<log::Level> {
    Some(match level {
        1 => log::Level::Error,
        2 => log::Level::Warn,
        3 => log::Level::Info,
        4 => log::Level::Debug,
        5 => log::Level::Trace,
        _ => return None,
    })
}

/// A maximum level as it crosses: 0 off, then as [`ffi_level`].
pub fn ffi_level_filter(filter: log::LevelFilter) -> u8 {
    filter.to_level().map_or(0, ffi_level)
}

/// The maximum level a number stands for; `None` for a number that stands for none.
pub fn level_filter_from_ffi(filter: u8) -> Option<log::LevelFilter> {
    match filter {
        0 => Some(log::LevelFilter::Off),
        n => level_from_ffi(n).map(|l| l.to_level_filter()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_cross_as_logs_own_numbers_and_come_back_unchanged() {
        let levels = [
            (log::Level::Error, 1),
            (log::Level::Warn, 2),
            (log::Level::Info, 3),
            (log::Level::Debug, 4),
            (log::Level::Trace, 5),
        ];
        for (level, n) in levels {
            assert_eq!(ffi_level(level), n);
            assert_eq!(n as usize, level as usize, "log's own numbering");
            assert_eq!(level_from_ffi(n), Some(level));
            assert_eq!(ffi_level_filter(level.to_level_filter()), n);
            assert_eq!(level_filter_from_ffi(n), Some(level.to_level_filter()));
        }
        assert_eq!(ffi_level_filter(log::LevelFilter::Off), 0);
        assert_eq!(level_filter_from_ffi(0), Some(log::LevelFilter::Off));
    }

    #[test]
    fn numbers_that_stand_for_no_level_are_refused() {
        for n in [0, 6, 7, 100, u8::MAX] {
            assert_eq!(level_from_ffi(n), None, "{n}");
        }
        for n in [6, 100, u8::MAX] {
            assert_eq!(level_filter_from_ffi(n), None, "{n}");
        }
    }
}
