//! The command objective as a plugin library.
