#!/usr/bin/env bash
# The `mlp` quality-per-epoch runs of docs/BENCHMARKS.md ("Pruners"): for each seed, full-budget
# random search (TRIALS trials of EPOCHS epochs), then each pruned method until it has spent
# SHARE of random search's epochs (however many trials that takes), one JSON line per run
# appended to OUT. Run two at a time with different seeds (one core each):
#
#   cargo build --release -p hyperplug-bohb --example mlp_budget
#   bash bench/pruners/mlp_budget.sh OUT "0 2 4 6 8" &  bash bench/pruners/mlp_budget.sh OUT2 "1 3 5 7 9"
#   python3 bench/pruners/mlp_budget_table.py OUT OUT2
#
# Environment: EPOCHS (9), TRIALS (64), BIN, METHODS ("random-hyperband random-asha tpe-median"
# with share 0.25, 0.25 and 0.4 of random search's epochs: a little over the targets, 1/5 and
# 1/3), EXTRA ("tpe-hyperband bohb-hyperband", share 0.25, run for every seed after the others),
# SKIP_RANDOM (seeds whose random-search run is already in OUT or under way).
set -euo pipefail
OUT=$1
SEEDS=$2
EPOCHS=${EPOCHS:-9}
TRIALS=${TRIALS:-64}
BIN=${BIN:-target/release/examples/mlp_budget}
METHODS=${METHODS:-random-hyperband:0.25 random-asha:0.25 tpe-median:0.4}
EXTRA=${EXTRA:-tpe-hyperband:0.25 bohb-hyperband:0.25}
SKIP_RANDOM=${SKIP_RANDOM:-}
export RAYON_NUM_THREADS=1   # one core per run: candle would otherwise split every product
full=$((TRIALS * EPOCHS))
run() {  # METHOD:SHARE SEED
  local m=${1%%:*} share=${1##*:}
  local cap
  cap=$(awk -v f="$full" -v s="$share" 'BEGIN { printf "%d", f * s + 0.5 }')
  # Pruned runs may need many more trials than random search to spend their epochs.
  nice -n 10 "$BIN" "$m" "$2" 100000 "$EPOCHS" digits "$cap" >> "$OUT"
}
for seed in $SEEDS; do
  case " $SKIP_RANDOM " in
    *" $seed "*) ;;
    *) nice -n 10 "$BIN" random "$seed" "$TRIALS" "$EPOCHS" digits >> "$OUT" ;;
  esac
  for m in $METHODS; do run "$m" "$seed"; done
done
for seed in $SEEDS; do
  for m in $EXTRA; do run "$m" "$seed"; done
done
