//! The neural-network objective on CUDA GPUs, as its own plugin library.
