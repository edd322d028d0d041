//! The TPE strategy as a plugin library.
