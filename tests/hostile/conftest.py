"""The hostile suite: one healthy simulator per module, misbehaving fronts before it, and the
real CLI run as a child whose time and memory the harness bounds (never the product's asserts).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.sim_process import COMMAND, sim_process

# The harness's own bounds on a child. A product within its --deadline ends long before.
KILL_AFTER_S = (
    150.0  # above the doctor's default 90 s deadline: ending in time is the product's job
)
RSS_KILL_MB = 1024.0  # the watchdog's cap: keeps a runaway child from taking the machine
RSS_BUDGET_MB = 400.0  # the bound on peak resident memory
REQUEST_BUDGET = 500  # requests one doctor may make against one hostile front


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, Any]]:
    """One healthy simulated PBX for the module, in its own process."""
    with sim_process() as info:
        yield info


@pytest.fixture(scope="module")
def child_env(sim: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The children's environment: the key in PBX_KEY, a private app home."""
    env = dict(os.environ)
    env["PBX_KEY"] = str(sim["client_secret"])
    env["PBX_COMPANION_HOME"] = str(tmp_path_factory.mktemp("hostile-home"))
    return env


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-certs")


def connection_args(url: str, sim: dict[str, Any], ca_file: str) -> list[str]:
    return [
        "--url",
        url,
        "--client-id",
        str(sim["client_id"]),
        "--secret-env",
        "PBX_KEY",
        "--ca-file",
        ca_file,
    ]


__all__ = ["COMMAND", "KILL_AFTER_S", "REQUEST_BUDGET", "RSS_BUDGET_MB", "RSS_KILL_MB"]
