//! Any program as an objective: parameters in, JSON results and intermediate values out.
