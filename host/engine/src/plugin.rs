//! Loading plugin libraries: the host's use of [`hyperplug_loader`], which the testkit shares so
//! that a plugin author's tests load a library exactly as the host does.

pub use hyperplug_loader::*;
