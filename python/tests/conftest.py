"""Fixtures: stores, the `hyperplug` binary, and the plugin libraries the e2e test built.

Run by the workspace's e2e test `python` (tests/e2e/python.rs), which builds the package into a
virtual environment and sets HYPERPLUG_BIN and HYPERPLUG_TEST_PLUGIN_DIR; by hand:
``pytest python/tests`` after ``maturin develop`` and ``cargo build``.
"""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest

import hyperplug

ROOT = Path(__file__).resolve().parents[2]
ON_CI = os.environ.get("CI") == "true"


def _binary() -> Path:
    given = os.environ.get("HYPERPLUG_BIN")
    return Path(given) if given else ROOT / "target" / "debug" / "hyperplug"


def cli(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Runs the `hyperplug` binary; with `check`, fails the test on a non-zero exit."""
    binary = _binary()
    if not binary.exists():
        if ON_CI:
            pytest.fail(f"the hyperplug binary is not built at {binary}")
        pytest.skip(f"the hyperplug binary is not built at {binary}; run cargo build")
    env = {k: v for k, v in os.environ.items() if k not in ("HYPERPLUG_PLUGIN_PATH", "RUST_LOG")}
    out = subprocess.run(
        [str(binary), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    if check:
        assert out.returncode == 0, f"hyperplug {' '.join(args)} failed:\n{out.stderr}"
    return out


def cli_json(*args: str, cwd: Path):
    return json.loads(cli(*args, cwd=cwd).stdout)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/studies.db"


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A PostgreSQL URL with a schema of this test run's own; skipped without a server (never
    on CI)."""
    base = os.environ.get("HYPERPLUG_TEST_POSTGRES") or (
        "postgres://postgres@127.0.0.1:5432/test?connect_timeout=3"
    )
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}schema=pytest_{uuid.uuid4().hex[:12]}"
    try:
        hyperplug.create_study(storage=url, study_name="probe")
    except hyperplug.StorageError as e:
        if ON_CI:
            pytest.fail(f"CI must run the PostgreSQL tests: {e}")
        pytest.skip(f"no PostgreSQL server: {e}")
    return url


@pytest.fixture
def plugin_dir() -> Path:
    given = os.environ.get("HYPERPLUG_TEST_PLUGIN_DIR")
    if not given:
        if ON_CI:
            pytest.fail("HYPERPLUG_TEST_PLUGIN_DIR is not set; the e2e test sets it")
        pytest.skip("HYPERPLUG_TEST_PLUGIN_DIR is not set (the e2e test sets it)")
    return Path(given)
