//! A neural-network objective: an MLP trained with candle on tabular data, judged by k-fold cross-validation.
