//! Lookup-table benchmarks as objectives: any long-form CSV with a space.json.
