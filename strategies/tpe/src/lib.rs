//! Tree-structured Parzen Estimator: univariate and multivariate, conditional groups, multi-objective, constraints.
