#!/usr/bin/env bash
# Reproduces the tables of docs/BENCHMARKS.md: hyperplug, then Optuna and Rustuna on the same
# suites, seeds and budgets, then one report. Run from the repository root, on an otherwise idle
# machine, with a Python environment that has bench/compare/requirements.txt (and torch for `gp`):
#
#   python3 -m venv /tmp/hpvenv && /tmp/hpvenv/bin/pip install -r bench/compare/requirements.txt torch
#   PYTHON=/tmp/hpvenv/bin/python bash bench/reproduce.sh [synthetic|tabular|overhead|parallel|ordinal|conditional]...
#
# Results go to $OUT (default results/), the report to $OUT/report-<part>.md with figures.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-results}
JOBS=${JOBS:-2}
mkdir -p "$OUT"
cargo build --release -p hyperplug
HP=target/release/hyperplug
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(synthetic tabular overhead parallel)

for part in "${parts[@]}"; do
  case "$part" in
  synthetic)
    $HP bench --suite bench/suites/synthetic.toml --jobs "$JOBS" --out "$OUT/synthetic-hyperplug.jsonl" --md /dev/null
    $HP bench --suite bench/suites/grid-branin.toml --jobs "$JOBS" --out "$OUT/grid-hyperplug.jsonl" --md /dev/null
    $PYTHON bench/compare/run.py --suite bench/suites/synthetic.toml --system optuna \
      --samplers random,qmc,tpe,tpe-indep,cmaes --jobs "$JOBS" --out "$OUT/synthetic-optuna.jsonl"
    # GPSampler costs ~0.5 s per trial here under load (~50 s a run): Branin, seeds 0-9 only.
    $PYTHON bench/compare/run.py --suite bench/suites/synthetic.toml --system optuna \
      --samplers gp --problems branin --seeds 10 --jobs "$JOBS" \
      --out "$OUT/synthetic-optuna-gp.jsonl"
    $PYTHON bench/compare/run.py --suite bench/suites/synthetic.toml --system rustuna \
      --samplers random,tpe,tpe-indep,cmaes --jobs "$JOBS" --out "$OUT/synthetic-rustuna.jsonl"
    $HP bench report "$OUT/synthetic-hyperplug.jsonl" "$OUT/grid-hyperplug.jsonl" \
      "$OUT/synthetic-optuna.jsonl" "$OUT/synthetic-optuna-gp.jsonl" "$OUT/synthetic-rustuna.jsonl" \
      --md "$OUT/report-synthetic.md" --svg-dir "$OUT/figures"
    ;;
  tabular)
    $HP bench --suite bench/suites/tabular.toml --jobs "$JOBS" --out "$OUT/tabular-hyperplug.jsonl" --md /dev/null
    $PYTHON bench/compare/run.py --suite bench/suites/tabular.toml --system optuna \
      --samplers random,tpe --jobs "$JOBS" --out "$OUT/tabular-optuna.jsonl"
    $PYTHON bench/compare/run.py --suite bench/suites/tabular.toml --system rustuna \
      --samplers tpe --jobs "$JOBS" --out "$OUT/tabular-rustuna.jsonl"
    $HP bench report "$OUT"/tabular-*.jsonl --md "$OUT/report-tabular.md" --svg-dir "$OUT/figures"
    ;;
  overhead)
    # One process at a time: timings taken side by side would disturb each other.
    $HP bench overhead --strategies random,qmc,tpe --trials 100,500,1000,10000 \
      --out "$OUT/overhead-hyperplug.jsonl" --md /dev/null
    $PYTHON bench/compare/overhead.py --system optuna --samplers random,qmc,tpe,cmaes \
      --trials 100,500,1000,10000 --timeout 120 --out "$OUT/overhead-optuna.jsonl"
    $PYTHON bench/compare/overhead.py --system rustuna --samplers random,tpe,cmaes \
      --trials 100,500,1000,10000 --timeout 120 --out "$OUT/overhead-rustuna.jsonl"
    $HP bench report "$OUT"/overhead-*.jsonl --md "$OUT/report-overhead.md"
    ;;
  parallel)
    # 16 CPU-bound trials (~0.4 s of pure Python each), one at a time vs two at once, alternating.
    sed 's/^parallelism = 1/parallelism = 2/' bench/problems/cpu_burn.toml > "$OUT/cpu_burn_p2.toml"
    for rep in 1 2 3; do
      for p in 1 2; do
        f=bench/problems/cpu_burn.toml; [ "$p" = 2 ] && f="$OUT/cpu_burn_p2.toml"
        /usr/bin/time -f "rep $rep parallelism $p: %e s wall, %U s user (load $(cut -d' ' -f1 /proc/loadavg))" \
          $HP run "$f" -q > /dev/null 2>> "$OUT/parallel.log"
      done
    done
    grep '^rep' "$OUT/parallel.log"
    ;;
  ordinal)
    # TPE's held-out validation (issue 17): the HPOLib tables with integer-index parameters,
    # hyperplug at seeds 1000..1499, Optuna at 1000..1199.
    $HP bench --suite bench/suites/tabular-ordinal.toml --jobs "$JOBS" --out "$OUT/ordinal-hyperplug.jsonl" --md /dev/null
    $PYTHON bench/compare/run.py --suite bench/suites/tabular-ordinal.toml --system optuna \
      --samplers tpe,tpe-indep --seeds 1000..1200 --jobs "$JOBS" --out "$OUT/ordinal-optuna.jsonl"
    $PYTHON bench/compare/summary.py "$OUT"/ordinal-*.jsonl
    ;;
  conditional)
    # TPE on the conditional problems of strategies/tpe/tests/conditional (issue 17).
    cargo build --release -p hyperplug-tpe --example conditional
    target/release/examples/conditional --seeds 1000..1500 --jobs "$JOBS" --out "$OUT/conditional-hyperplug.jsonl"
    $PYTHON bench/compare/conditional.py --samplers tpe,tpe-group,tpe-indep --seeds 1000..1200 \
      --jobs "$JOBS" --out "$OUT/conditional-optuna.jsonl"
    $PYTHON bench/compare/summary.py --value "$OUT"/conditional-*.jsonl
    ;;
  *) echo "unknown part $part; use synthetic, tabular, overhead, parallel, ordinal or conditional" >&2; exit 2 ;;
  esac
done
