#!/usr/bin/env bash
# Many worker processes on one study, with and without faults: how many trials ran, how many
# distinct parameter sets they evaluated, trials lost with a worker, duplicate trial numbers, and
# how far the budget was overshot. Prints one markdown table (docs/RELIABILITY.md).
#
#   bench/reliability.sh [BINARY]
#
# BINARY defaults to target/debug/hyperplug (build it with `cargo build -p hyperplug`). PostgreSQL
# rows use $HYPERPLUG_TEST_POSTGRES, or postgres://postgres@127.0.0.1:5432/test, each in a schema
# of its own that is dropped afterwards; `psql` holds the lock of the stall row.
set -euo pipefail

BIN=$(realpath "${1:-target/debug/hyperplug}")
PG=${HYPERPLUG_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}
WORK=$(mktemp -d)
SCHEMAS=()
cleanup() {
    for s in "${SCHEMAS[@]}"; do
        psql -q "$PG" -c "DROP SCHEMA IF EXISTS \"$s\" CASCADE" >/dev/null 2>&1 || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

# A store URL for `backend` (sqlite or postgres), fresh for `tag`.
store() {
    local backend=$1 tag=$2
    if [ "$backend" = sqlite ]; then
        echo "sqlite://$WORK/$tag.db"
    else
        local schema="hp_reliability_${tag//-/_}_$$"
        SCHEMAS+=("$schema")
        echo "$PG?schema=$schema"
    fi
}

# A study of `trials` trials of a `seconds`-long command over two floats.
study_file() {
    local name=$1 strategy=$2 trials=$3 seconds=$4 extra=$5
    cat >"$WORK/$name.toml" <<EOF
[study]
name = "$name"
direction = "minimize"
trials = $trials
seed = 7
$extra
[strategy]
name = "$strategy"
[objective]
name = "command"
cmd = ["sh", "-c", "sleep $seconds; echo {x}"]
[space]
x = { float = [0.0, 1.0] }
y = { float = [0.0, 1.0] }
EOF
    echo "$WORK/$name.toml"
}

# One table row from the study's export: trials stored, distinct parameter sets and repeats
# among the trials that are not retries (a retry reruns its lost trial's parameters on purpose),
# trials lost with a worker, retries, duplicate numbers, overshoot (trials counted toward the
# budget beyond it), and failed trials.
row() {
    local label=$1 url=$2 name=$3 budget=$4
    "$BIN" studies export "$name" --format json --storage "$url" 2>/dev/null | jq -r \
        --arg what "$label" --argjson budget "$budget" '
        .trials as $t
        | ($t | length) as $n
        | ($t | map(select(.retry_of == null) | .params | tojson) | unique | length) as $distinct
        | ($t | map(select(.retry_of != null)) | length) as $retries
        | ($t | map(select((.message // "") | startswith("worker stopped responding"))) | length) as $lost
        | ($t | map(.number) | unique | length) as $numbers
        | ($t | map(select(.state == "failed")) | length) as $failed
        | "| \($what) | \($n) | \($distinct) | \($n - $retries - $distinct) | \($lost) | \($retries) | \($n - $numbers) | \([($n - $retries) - $budget, 0] | max) | \($failed) |"'
}

# `hyperplug run` plus `workers - 1` workers on a fresh study; kills `kill` workers with SIGKILL
# after `kill_after` seconds.
crowd() {
    local backend=$1 strategy=$2 workers=$3 trials=$4 kill=${5:-0} kill_after=${6:-0}
    local tag="$backend-$strategy-$workers-$kill"
    local name="rel-$tag"
    local url
    url=$(store "$backend" "$tag")
    local extra=""
    [ "$kill" -gt 0 ] && extra=$'retries = 1\nheartbeat_grace = "3s"'
    local file
    file=$(study_file "$name" "$strategy" "$trials" 0.05 "$extra")
    "$BIN" studies create "$file" --storage "$url" >/dev/null 2>&1
    local pids=()
    "$BIN" run "$file" --storage "$url" >/dev/null 2>&1 &
    pids+=($!)
    for _ in $(seq 2 "$workers"); do
        "$BIN" worker --study "$name" --storage "$url" >/dev/null 2>&1 &
        pids+=($!)
    done
    if [ "$kill" -gt 0 ]; then
        sleep "$kill_after"
        for p in "${pids[@]:1:$kill}"; do kill -9 "$p" 2>/dev/null || true; done
    fi
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    local label="$backend, $strategy, run + $((workers - 1)) workers × $trials trials"
    [ "$kill" -gt 0 ] && label="$label, $kill workers killed (retries = 1)"
    row "$label" "$url" "$name" "$trials"
}

# A lock on the study's row held for 4 s, twice the 2 s grace, while 3 s trials run.
stall() {
    local url name=rel-stall file
    url=$(store postgres stall)
    local schema=${url##*schema=}
    file=$(study_file "$name" random 8 3 $'parallelism = 2\nheartbeat_grace = "2s"\nretries = 1')
    "$BIN" studies create "$file" --storage "$url" >/dev/null 2>&1
    "$BIN" run "$file" --storage "$url" >/dev/null 2>&1 &
    local a=$!
    "$BIN" worker --study "$name" --storage "$url" >/dev/null 2>&1 &
    local b=$!
    sleep 2
    psql -q "$PG" -c "BEGIN; SET search_path TO \"$schema\"; SELECT id FROM studies FOR UPDATE; SELECT pg_sleep(4); COMMIT;" >/dev/null
    wait "$a" || true
    wait "$b" || true
    row "postgres, study row locked 4 s (grace 2 s), run + 1 worker × 8 trials of 3 s" "$url" "$name" 8
}

echo "| study | trials stored | distinct parameter sets (retries aside) | repeats | lost | retries | duplicate numbers | overshoot | failed |"
echo "|---|---|---|---|---|---|---|---|---|"
crowd postgres random 16 400
crowd postgres tpe 16 400
crowd sqlite random 8 400
crowd sqlite tpe 8 400
crowd sqlite tpe 1 400
crowd postgres random 16 400 3 3
crowd sqlite random 8 400 2 3
stall
