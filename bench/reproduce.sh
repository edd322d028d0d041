#!/usr/bin/env bash
# Reproduces the tables of docs/BENCHMARKS.md: hyperplug, then Optuna and Rustuna on the same
# suites, seeds and budgets, then one report. Run from the repository root, on an otherwise idle
# machine, with a Python environment that has bench/compare/requirements.txt (and torch for `gp`):
#
#   python3 -m venv /tmp/hpvenv && /tmp/hpvenv/bin/pip install -r bench/compare/requirements.txt torch
#   PYTHON=/tmp/hpvenv/bin/python bash bench/reproduce.sh [synthetic|tabular|overhead]...
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
[ ${#parts[@]} -gt 0 ] || parts=(synthetic tabular overhead)

for part in "${parts[@]}"; do
  case "$part" in
  synthetic)
    $HP bench --suite bench/suites/synthetic.toml --jobs "$JOBS" --out "$OUT/synthetic-hyperplug.jsonl" --md /dev/null
    $HP bench --suite bench/suites/grid-branin.toml --jobs "$JOBS" --out "$OUT/grid-hyperplug.jsonl" --md /dev/null
    $PYTHON bench/compare/run.py --suite bench/suites/synthetic.toml --system optuna \
      --samplers random,qmc,tpe,tpe-indep,cmaes --jobs "$JOBS" --out "$OUT/synthetic-optuna.jsonl"
    # GPSampler costs ~0.3 s of CPU per trial here: two problems only.
    $PYTHON bench/compare/run.py --suite bench/suites/synthetic.toml --system optuna \
      --samplers gp --problems branin,hartmann6 --jobs "$JOBS" --out "$OUT/synthetic-optuna-gp.jsonl"
    $PYTHON bench/compare/run.py --suite bench/suites/synthetic.toml --system rustuna \
      --samplers random,tpe,tpe-indep,cmaes --jobs "$JOBS" --out "$OUT/synthetic-rustuna.jsonl"
    $HP bench report "$OUT"/synthetic-*.jsonl "$OUT/grid-hyperplug.jsonl" \
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
    $HP bench overhead --strategies random,qmc --trials 100,500,1000,10000 \
      --out "$OUT/overhead-hyperplug.jsonl" --md /dev/null
    $PYTHON bench/compare/overhead.py --system optuna --samplers random,qmc,tpe,cmaes \
      --trials 100,500,1000,10000 --timeout 120 --out "$OUT/overhead-optuna.jsonl"
    $PYTHON bench/compare/overhead.py --system rustuna --samplers random,tpe,cmaes \
      --trials 100,500,1000,10000 --timeout 120 --out "$OUT/overhead-rustuna.jsonl"
    $HP bench report "$OUT"/overhead-*.jsonl --md "$OUT/report-overhead.md"
    ;;
  *) echo "unknown part $part; use synthetic, tabular or overhead" >&2; exit 2 ;;
  esac
done
