#!/usr/bin/env python3
"""Storage throughput, side by side: trials per second with a trivial objective (Branin, two
floats, random search) for hyperplug's stores (memory, SQLite, PostgreSQL) and Optuna's
(InMemoryStorage, RDBStorage on SQLite and PostgreSQL, JournalStorage on a file), at 1, 4 and 16
workers, all in one run on one machine.

    python3 -m venv /tmp/optuna-venv && /tmp/optuna-venv/bin/pip install "optuna>=5,<6" psycopg2-binary
    cargo build --release -p hyperplug
    /tmp/optuna-venv/bin/python bench/compare/storage.py --hyperplug target/release/hyperplug \
        --postgres postgres://postgres@127.0.0.1:5432/test --out /tmp/storage.jsonl

Workers are processes sharing one study (`hyperplug worker`; Optuna's `load_study` +
`optimize` in a `multiprocessing` process), except for the in-memory stores, which one process
holds: there workers are threads (hyperplug's `parallelism`, which it caps at the machine's
cores; Optuna's `n_jobs`). Throughput is the trials stored divided by the time from the first
trial's start to the last trial's end, read back from each store, so process start-up (Python's
imports, a worker's connection) is left out on both sides. Optuna's workers wait at a barrier
after their imports so they start together. Errors ("database is locked", deadlocks) are counted,
not hidden: a worker that dies of one stops adding trials.

Every database or file is fresh per measurement: SQLite files in a temporary directory, a
PostgreSQL schema (hyperplug) or database (Optuna) of its own, dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

STUDY = "bench"


def branin(x0: float, x1: float) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x1 - b * x0**2 + c * x0 - r) ** 2 + s * (1 - t) * math.cos(x0) + s


# --- hyperplug -------------------------------------------------------------------------------


def hyperplug_run(exe: str, store: str, workers: int, trials: int, pg: str | None) -> dict:
    work = tempfile.mkdtemp(prefix="hp-bench-")
    schema = None
    try:
        if store == "memory":
            url = "memory"
        elif store == "sqlite":
            url = f"sqlite://{os.path.join(work, 'bench.db')}"
        else:
            schema = f"hp_bench_{uuid.uuid4().hex[:12]}"
            url = f"{pg}{'&' if '?' in pg else '?'}schema={schema}"
        study = os.path.join(work, "s.toml")
        parallelism = workers if store == "memory" else 1
        with open(study, "w") as f:
            f.write(
                f'[study]\nname = "{STUDY}"\ntrials = {trials}\nseed = 1\nparallelism = {parallelism}\n'
                '[strategy]\nname = "random"\n[objective]\nname = "branin"\n'
            )
        env = dict(os.environ, RUST_LOG="error")
        env.pop("HYPERPLUG_PLUGIN_PATH", None)
        errors = 0
        if store == "memory":
            out = subprocess.run(
                [exe, "run", study, "--storage", "memory", "--json", "-q"],
                cwd=work, env=env, capture_output=True, text=True,
            )
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            trials_json = json.loads(out.stdout)["trials"]
        else:
            subprocess.run(
                [exe, "studies", "create", study, "--storage", url, "-q"],
                cwd=work, env=env, check=True, capture_output=True,
            )
            procs = [
                subprocess.Popen(
                    [exe, "worker", "--study", STUDY, "--storage", url, "-q"],
                    cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                )
                for _ in range(workers)
            ]
            for p in procs:
                _, err = p.communicate()
                if p.returncode != 0 or "locked" in err:
                    errors += 1
                    sys.stderr.write(err)
            out = subprocess.run(
                [exe, "studies", "export", STUDY, "--format", "json", "--storage", url],
                cwd=work, env=env, check=True, capture_output=True, text=True,
            )
            trials_json = json.loads(out.stdout)["trials"]
        done = [t for t in trials_json if t["state"] == "complete"]
        start = min(t["started_ms"] for t in done) / 1000
        end = max(t["started_ms"] / 1000 + (t["duration_s"] or 0) for t in done)
        numbers = sorted(t["number"] for t in trials_json)
        assert numbers == list(range(len(numbers))), "numbers must be dense and unique"
        return {"trials": len(done), "seconds": max(end - start, 1e-3), "errors": errors}
    finally:
        if schema:
            import psycopg2

            conn = psycopg2.connect(pg.split("?")[0])
            conn.autocommit = True
            conn.cursor().execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.close()
        shutil.rmtree(work, ignore_errors=True)


# --- Optuna ----------------------------------------------------------------------------------


def optuna_storage(kind: str, where: str):
    import optuna

    if kind == "rdb":
        return optuna.storages.RDBStorage(where)
    if kind == "journal":
        backend = optuna.storages.journal.JournalFileBackend(where)
        return optuna.storages.JournalStorage(backend)
    raise ValueError(kind)


def optuna_objective(trial) -> float:
    return branin(trial.suggest_float("x0", -5, 10), trial.suggest_float("x1", 0, 15))


def optuna_worker(kind: str, where: str, n: int, seed: int, barrier, errors) -> None:
    try:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        study = optuna.load_study(
            study_name=STUDY,
            storage=optuna_storage(kind, where),
            sampler=optuna.samplers.RandomSampler(seed=seed),
        )
        barrier.wait()
        study.optimize(optuna_objective, n_trials=n)
    except Exception:  # noqa: BLE001 - counted and shown, as a user would see it
        with errors.get_lock():
            errors.value += 1
        sys.stderr.write(traceback.format_exc(limit=2))


def optuna_run(store: str, workers: int, trials: int, pg: str | None) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    work = tempfile.mkdtemp(prefix="optuna-bench-")
    database = None
    try:
        if store == "memory":
            study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
            study.optimize(optuna_objective, n_trials=trials, n_jobs=workers)
            frozen = study.get_trials(deepcopy=False)
            errors = 0
        else:
            if store == "sqlite":
                kind, where = "rdb", f"sqlite:///{os.path.join(work, 'bench.db')}"
            elif store == "journal":
                kind, where = "journal", os.path.join(work, "journal.log")
            else:
                import psycopg2

                database = f"optuna_bench_{uuid.uuid4().hex[:12]}"
                admin = psycopg2.connect(pg.split("?")[0])
                admin.autocommit = True
                admin.cursor().execute(f'CREATE DATABASE "{database}"')
                admin.close()
                base = pg.split("?")[0].rsplit("/", 1)[0].replace("postgres://", "postgresql+psycopg2://", 1)
                kind, where = "rdb", f"{base}/{database}"
            optuna.create_study(study_name=STUDY, storage=optuna_storage(kind, where))
            ctx = mp.get_context("spawn")
            barrier = ctx.Barrier(workers)
            errors_v = ctx.Value("i", 0)
            share = [trials // workers + (1 if i < trials % workers else 0) for i in range(workers)]
            procs = [
                ctx.Process(target=optuna_worker, args=(kind, where, share[i], i + 1, barrier, errors_v))
                for i in range(workers)
            ]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            errors = errors_v.value
            frozen = optuna.load_study(study_name=STUDY, storage=optuna_storage(kind, where)).get_trials(
                deepcopy=False
            )
        done = [t for t in frozen if t.state == optuna.trial.TrialState.COMPLETE]
        start = min(t.datetime_start for t in done)
        end = max(t.datetime_complete for t in done)
        return {"trials": len(done), "seconds": max((end - start).total_seconds(), 1e-3), "errors": errors}
    finally:
        if database:
            import psycopg2

            admin = psycopg2.connect(pg.split("?")[0])
            admin.autocommit = True
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            admin.close()
        shutil.rmtree(work, ignore_errors=True)


# --- the table -------------------------------------------------------------------------------


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hyperplug", required=True, help="the hyperplug binary (a release build)")
    ap.add_argument("--postgres", help="a PostgreSQL URL with trust auth; PostgreSQL rows are left out without it")
    ap.add_argument("--workers", default="1,4,16")
    ap.add_argument("--repeats", type=int, default=1, help="measurements per cell; the median is shown")
    ap.add_argument("--hyperplug-trials", type=int, default=4000, help="trials per hyperplug measurement")
    ap.add_argument("--optuna-trials", type=int, default=400, help="trials per Optuna measurement")
    ap.add_argument(
        "--memory-trials",
        default="20000,2000",
        help="hyperplug's and Optuna's trials in memory, where a few hundred take too little time to time",
    )
    ap.add_argument("--out", help="also write every measurement as a JSON line here")
    args = ap.parse_args()
    workers = [int(w) for w in args.workers.split(",")]
    hp_memory, optuna_memory = (int(n) for n in args.memory_trials.split(","))
    stores = ["memory", "sqlite"] + (["postgres"] if args.postgres else [])
    rows = []
    out = open(args.out, "w") if args.out else None
    import optuna

    for store in stores + ["journal"]:
        for w in workers:
            cells = {}
            systems = ["optuna"] if store == "journal" else ["hyperplug", "optuna"]
            for system in systems:
                runs = []
                for _ in range(args.repeats):
                    if system == "hyperplug":
                        n = hp_memory if store == "memory" else args.hyperplug_trials
                        r = hyperplug_run(args.hyperplug, store, w, n, args.postgres)
                    else:
                        n = optuna_memory if store == "memory" else args.optuna_trials
                        r = optuna_run(store, w, n, args.postgres)
                    r.update(system=system, store=store, workers=w, rate=r["trials"] / r["seconds"])
                    if system == "optuna":
                        r["optuna"] = optuna.__version__
                    runs.append(r)
                    if out:
                        out.write(json.dumps(r) + "\n")
                        out.flush()
                    print(json.dumps(r), file=sys.stderr)
                cells[system] = (statistics.median(x["rate"] for x in runs), sum(x["errors"] for x in runs))
            if store == "journal":
                # Optuna's file journal against hyperplug's file store.
                cells["hyperplug"] = next(c for s, x, c in rows if s == "sqlite" and x == w)["hyperplug"]
            rows.append((store, w, cells))
    label = {
        "memory": "memory",
        "sqlite": "SQLite",
        "postgres": "PostgreSQL",
        "journal": "a file: hyperplug's SQLite, Optuna's JournalStorage",
    }
    print("| storage | workers | hyperplug trials/s | Optuna trials/s | ratio |")
    print("|---|---:|---:|---:|---:|")
    for store, w, cells in rows:
        hp = cells.get("hyperplug")
        op = cells["optuna"]
        fmt = lambda c: "-" if c is None else f"{c[0]:,.0f}" + (f" ({c[1]} errors)" if c[1] else "")  # noqa: E731
        ratio = f"{hp[0] / op[0]:.0f}x" if hp and op[0] > 0 else "-"
        print(f"| {label[store]} | {w} | {fmt(hp)} | {fmt(op)} | {ratio} |")


if __name__ == "__main__":
    main()
