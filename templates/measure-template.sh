#!/bin/bash
# Times docs/PLUGINS.md gives: from a clean copy of the strategy template to a loaded,
# conformance-checked plugin, with a cold target dir. Run from anywhere after `cargo build -p hyperplug`.
set -e
R=$(cd "$(dirname "$0")/.." && pwd)
rm -rf /tmp/measure && mkdir -p /tmp/measure && cd /tmp/measure
t0=$(date +%s)
cp -r $R/templates/strategy-plugin my-plugin && cd my-plugin
# Stands in for crates.io, where hyperplug-sdk and hyperplug-testkit are not published yet.
printf '\n[patch.crates-io]\nhyperplug-sdk = { path = "%s/core/sdk" }\nhyperplug-testkit = { path = "%s/core/testkit" }\nhyperplug-abi = { path = "%s/core/abi" }\nhyperplug-core = { path = "%s/core/core" }\nhyperplug-loader = { path = "%s/host/loader" }\n' $R $R $R $R $R >> Cargo.toml
export CARGO_TARGET_DIR=/tmp/measure/target
cargo build --offline 2>&1 | tail -1
t1=$(date +%s)
cargo test --offline 2>&1 | grep "test result" 
t2=$(date +%s)
$R/target/debug/hyperplug plugins check --conformance $CARGO_TARGET_DIR/debug/libmy_strategy_plugin.so | tail -2
t3=$(date +%s)
echo "build $((t1-t0)) s; test (through the built library) $((t2-t1)) s; plugins check --conformance $((t3-t2)) s; total $((t3-t0)) s"
