//! Quasi-Monte Carlo search: scrambled Sobol sequences over the unit cube.
