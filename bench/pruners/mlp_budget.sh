#!/usr/bin/env bash
# The `mlp` quality-per-epoch runs of docs/BENCHMARKS.md ("Pruners"): for each seed, one process
# runs full-budget random search (TRIALS trials of EPOCHS epochs), then each pruned method until
# it has spent SHARE of random search's epochs (however many trials that takes), one JSON line per
# run appended to OUT. Configurations trained by an earlier run of the process are replayed, not
# trained again (the objective is a function of the parameters alone; see the driver), so the
# pruned random searches cost little after the full-budget one. Run two at a time with different
# seeds (one core each):
#
#   cargo build --release -p hyperplug-bohb --example mlp_budget
#   bash bench/pruners/mlp_budget.sh OUT "0 2 4 6 8" &  bash bench/pruners/mlp_budget.sh OUT2 "1 3 5 7 9"
#   python3 bench/pruners/mlp_budget_table.py OUT OUT2
#
# Environment: EPOCHS (9), TRIALS (64), BIN, METHODS ("random-hyperband random-asha tpe-median"
# with share 0.25, 0.25 and 0.4 of random search's epochs: a little over the targets, 1/5 and
# 1/3), EXTRA ("tpe-hyperband bohb-hyperband", share 0.25, run for every seed after the others),
# SKIP_RANDOM (seeds run without full-budget random search, whose run is elsewhere or not needed:
# the pruned methods then train every configuration themselves).
set -euo pipefail
OUT=$1
SEEDS=$2
EPOCHS=${EPOCHS:-9}
TRIALS=${TRIALS:-64}
BIN=${BIN:-target/release/examples/mlp_budget}
METHODS=${METHODS:-random-hyperband:0.25 random-asha:0.25 tpe-median:0.4}
EXTRA=${EXTRA-tpe-hyperband:0.25 bohb-hyperband:0.25}   # EXTRA= runs none
SKIP_RANDOM=${SKIP_RANDOM:-}
export RAYON_NUM_THREADS=1   # one core per run: candle would otherwise split every product
full=$((TRIALS * EPOCHS))
specs() {  # METHOD:SHARE… → METHOD@EPOCHS,…
  local out="" m
  for m in "$@"; do
    out="$out,${m%%:*}@$(awk -v f="$full" -v s="${m##*:}" 'BEGIN { printf "%d", f * s + 0.5 }')"
  done
  echo "${out#,}"
}
for seed in $SEEDS; do
  case " $SKIP_RANDOM " in
    *" $seed "*) list=$(specs $METHODS) ;;
    *) list="random,$(specs $METHODS)" ;;
  esac
  nice -n 10 "$BIN" "$list" "$seed" "$TRIALS" "$EPOCHS" digits >> "$OUT"
done
if [ -n "$EXTRA" ]; then
  for seed in $SEEDS; do
    nice -n 10 "$BIN" "$(specs $EXTRA)" "$seed" "$TRIALS" "$EPOCHS" digits >> "$OUT"
  done
fi
