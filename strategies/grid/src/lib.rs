//! Grid search: every combination of the space's values, in a seeded order.
