//! The table objective as a plugin library.
