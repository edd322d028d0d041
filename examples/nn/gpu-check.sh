#!/usr/bin/env bash
# The GPU check of docs/benchmarks/nn.md, for a CUDA machine without Rust: run from the repository
# root with the host, the plugin and the CPU runner built elsewhere and carried along:
#
#     cargo build --release -p hyperplug -p hyperplug-plugin-nn-gpu
#     cargo build --release -p hyperplug-nn --example tune
#     # carry target/release/hyperplug, target/release/libhyperplug_plugin_nn_gpu.so and
#     # target/release/examples/tune to the GPU machine, then:
#     examples/nn/gpu-check.sh [TRIALS]
#
# It finds CUDA 13's NVRTC and cuBLAS in the Python environment's pip wheels (nvidia/cu13/lib) or
# the system, runs the digits study on the GPU (`mlp-gpu`, TRIALS trials, default 10), then the
# same trials on the CPU (`mlp`, 2 threads) for comparison, and writes everything to $OUT.
set -euo pipefail
trials=${1:-10}
out=${OUT:-/tmp/nn-gpu-check}
mkdir -p "$out"
rel=target/release

libs=$(python3 - <<'PY' 2>/dev/null || true
import glob, site, sys
paths = site.getsitepackages() + [site.getusersitepackages()]
found = sorted({d for p in paths for d in glob.glob(p + "/nvidia/cu13/lib") + glob.glob(p + "/nvidia/*/lib")})
print(":".join(found))
PY
)
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"
  nvidia-smi --query-gpu=index,name,driver_version,memory.total --format=csv || true
  nproc
} > "$out/machine.txt" 2>&1

sed -e "s/^trials = 50/trials = $trials/" -e "s/^seed = 7/seed = 7\nstorage = \"memory\"/" \
  examples/nn/digits-gpu.toml > "$out/gpu.toml"
TIMEFORMAT="%R s wall, %U s user, %S s sys"
{ time "$rel/hyperplug" run "$out/gpu.toml" --plugin-dir "$rel" --json \
    > "$out/gpu.json" 2> "$out/gpu.log" || echo "gpu study failed: see $out/gpu.log"; } 2> "$out/gpu.time"

# The CPU side: the same study through the in-process runner (the `mlp` objective, 2 threads).
sed -e "s/^trials = 50/trials = $trials/" examples/nn/digits.toml > "$out/cpu.toml"
{ time "$rel/examples/tune" "$out/cpu.toml" > "$out/cpu.txt" 2> "$out/cpu.log" \
    || echo "cpu study failed: see $out/cpu.log"; } 2> "$out/cpu.time"

python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
try:
    study = json.load(open(f"{out}/gpu.json"))
except Exception as e:  # noqa: BLE001
    sys.exit(f"no GPU study result: {e}")
for t in study.get("trials", []):
    a = t.get("user_attrs", {})
    print(t["number"], t["state"], t.get("values"), a.get("backend"), a.get("train_time"), a.get("params"))
PY
echo "results in $out"
