//! Random search: uniform and log-uniform sampling that respects steps and conditions.
