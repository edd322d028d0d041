#!/usr/bin/env bash
# Two worker processes on one SQLite study under ASHA: how busy each keeps (the share of the wall
# time its trials run, from the stored trials' start times and durations), and the steps spent.
# Each trial reports 9 steps of STEP_S seconds (a command objective), unless ASHA stops it at a
# rung (steps 1 and 3).
#
#   bash bench/pruners/asha_busy.sh [HYPERPLUG] [TRIALS] [STEP_S]
set -euo pipefail
HP=$(realpath "${1:-target/release/hyperplug}")
TRIALS=${2:-60}
STEP_S=${3:-0.1}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
cat > s.toml <<TOML
[study]
name = "asha-busy"
direction = "minimize"
trials = $TRIALS
seed = 1
storage = "sqlite://busy.db"
[strategy]
name = "random"
[objective]
name = "command"
cmd = ["awk", "-v", "x={x}", "-v", "n={resource}", 'BEGIN {{ for (s = 1; s <= n; s++) {{ system("sleep $STEP_S"); printf "{{\"step\": %d, \"loss\": %f}}\n", s, x + 1 / s; fflush() }} printf "{{\"loss\": %f}}\n", x }}']
metric = "loss"
[pruner]
name = "asha"
max_resource = 9
[space]
x = { float = [0, 1] }
TOML
"$HP" studies create s.toml --storage sqlite://busy.db >/dev/null 2>&1
"$HP" worker --study asha-busy --storage sqlite://busy.db 2>/dev/null &
"$HP" worker --study asha-busy --storage sqlite://busy.db 2>/dev/null &
wait
"$HP" studies export asha-busy --format json --storage sqlite://busy.db > export.json
python3 - <<'PY'
import json
trials = json.load(open("export.json"))["trials"]
spans = [(t["started_ms"] / 1e3, t["started_ms"] / 1e3 + t["duration_s"], t["worker"]) for t in trials]
start = min(s for s, _, _ in spans)
end = max(e for _, e, _ in spans)
wall = end - start
workers = sorted({w for _, _, w in spans})
busy = {w: sum(e - s for s, e, ww in spans if ww == w) for w in workers}
steps = sum(len(t["intermediate"]) for t in trials)
pruned = sum(t["state"] == "pruned" for t in trials)
print(f"{len(trials)} trials ({pruned} pruned), {steps} steps of {9 * len(trials)} at full budget, wall {wall:.1f} s")
for w in workers:
    print(f"  worker {w}: busy {busy[w] / wall:.1%} of the wall time")
print(f"both: {sum(busy.values()) / (len(workers) * wall):.1%}")
PY
