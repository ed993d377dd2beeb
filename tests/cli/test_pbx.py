"""The ``pbx-companion`` command as a technician runs it: real processes, real sockets."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.cli.entry import main
from tests.support.sim_process import COMMAND, sim_process


@pytest.fixture(scope="module")
def sim() -> Iterator[dict[str, Any]]:
    with sim_process("--recording-delay", "0.2") as info:
        yield info


def connection(info: dict[str, Any]) -> list[str]:
    return [
        "--url",
        info["url"],
        "--client-id",
        info["client_id"],
        "--secret-env",
        "PBX_KEY",
        "--ca-file",
        info["ca_file"],
    ]


@pytest.fixture
def key(sim: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PBX_KEY", sim["client_secret"])
    return str(sim["client_secret"])


def test_sim_prints_one_json_line(sim: dict[str, Any]) -> None:
    assert set(sim) == {
        "url",
        "client_id",
        "client_secret",
        "ca_file",
        "version",
        "admin_username",
        "admin_password",
    }
    assert sim["url"].startswith("https://") and Path(sim["ca_file"]).is_file()


def test_info_lists_and_downloads(
    sim: dict[str, Any], key: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["pbx", "info", *connection(sim)]) == 0
    out = capsys.readouterr().out
    assert "PBX v20 20.0.10" in out and "Licence: Enterprise active" in out
    assert main(["pbx", "recordings", "--json", "--days", "30", *connection(sim)]) == 0
    recordings = json.loads(capsys.readouterr().out)
    wav = tmp_path / "call.wav"
    assert (
        main(["pbx", "download", str(recordings[0]["id"]), "--out", str(wav), *connection(sim)])
        == 0
    )
    assert wav.read_bytes()[:4] == b"RIFF"
    assert main(["pbx", "extensions", *connection(sim)]) == 0
    assert main(["pbx", "calls", "--days", "30", "--limit", "5", *connection(sim)]) == 0
    captured = capsys.readouterr()
    assert key not in captured.out + captured.err


def test_calls_are_each_listed_once_and_a_limit_gives_the_newest(
    sim: dict[str, Any], key: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The simulator sends history as live PBXs do: legs share MainCallHistoryId, CallId is a
    # row number, $orderby is ignored (oldest first). The CLI must not care.
    assert (
        main(["pbx", "calls", "--json", "--days", "30", "--limit", "5000", *connection(sim)]) == 0
    )
    everything = json.loads(capsys.readouterr().out)
    ids = [c["call_id"] for c in everything]
    assert len(ids) == len(set(ids)) > 100
    started = [c["started_at"] for c in everything]
    assert started == sorted(started, reverse=True)
    assert main(["pbx", "calls", "--json", "--days", "30", "--limit", "5", *connection(sim)]) == 0
    newest = json.loads(capsys.readouterr().out)
    assert newest == everything[:5]
    assert (
        main(["pbx", "calls", "--json", "--days", "30", "--limit", "5000", *connection(sim)]) == 0
    )
    assert json.loads(capsys.readouterr().out) == everything  # the same ids on every read


def test_key_from_stdin_with_stray_whitespace(sim: dict[str, Any]) -> None:
    args = [
        *COMMAND,
        "pbx",
        "info",
        "--url",
        sim["url"],
        "--client-id",
        sim["client_id"],
        "--secret-stdin",
        "--ca-file",
        sim["ca_file"],
    ]
    done = subprocess.run(
        args, input=f"  {sim['client_secret']}\r\n", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert sim["client_secret"] not in done.stdout + done.stderr


def test_rejected_key_exits_1_with_the_fix(
    sim: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PBX_KEY", "an-old-rotated-key")
    assert main(["pbx", "info", *connection(sim)]) == 1
    err = capsys.readouterr().err
    # Client ID or key: the PBX's 401 does not say which (issue 18, another slice's wording).
    assert "rejected the Client ID or key" in err and "What to do:" in err
    assert "an-old-rotated-key" not in err


@pytest.mark.parametrize(
    ("change", "names"),
    [
        ({"--url": "https://pbx example.com"}, "--url"),
        ({"--url": "ftp://pbx.example.com"}, "--url"),
        ({"--ca-file": "/nonexistent/ca.pem"}, "--ca-file"),
        ({"--secret-env": "NO_SUCH_VARIABLE_SET"}, "--secret-env"),
        ({"--pin-sha256": "abc"}, "--pin-sha256"),
    ],
)
def test_bad_arguments_exit_2_naming_the_argument(
    sim: dict[str, Any],
    key: str,
    change: dict[str, str],
    names: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = connection(sim)
    for flag, value in change.items():
        if flag in args:
            args[args.index(flag) + 1] = value
        else:
            args += [flag, value]
    assert main(["pbx", "info", *args]) == 2
    assert capsys.readouterr().err.startswith(f"pbx-companion: {names}")


def test_key_with_inner_space_is_refused_without_echoing_it(
    sim: dict[str, Any], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PBX_KEY", "abcd efgh")
    assert main(["pbx", "info", *connection(sim)]) == 2
    err = capsys.readouterr().err
    assert "--secret-env" in err and "abcd" not in err


def test_unreachable_pbx_exits_1_with_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("PBX_KEY", "k" * 20)
    code = main(
        [
            "pbx",
            "info",
            "--url",
            f"http://127.0.0.1:{port}",
            "--client-id",
            "900",
            "--secret-env",
            "PBX_KEY",
            "--timeout",
            "2",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "could not be reached" in err and "port" in err


def test_terminal_demo_shows_a_summary_and_live_calls() -> None:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    done = subprocess.run(
        [*COMMAND, "--demo", "--headless", "--demo-seconds", "12"],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Demo PBX running at https://" in out
    assert "Summary" in out and "not recording external calls" in out
    assert "Live calls" in out
    assert " ringing " in out and (" ended " in out or " connected " in out)


# A Client ID and a key (PBX_KEY, set by the test) for a PBX that never gets to check them.
SOME_KEY = ["--client-id", "900", "--secret-env", "PBX_KEY"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections (the kernel's backlog) and never answers on them."""
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


@pytest.mark.parametrize("what", ["info", "extensions", "calls", "recordings", "download"])
def test_a_pbx_command_ends_at_its_deadline(
    what: str,
    silent_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("PBX_KEY", "k" * 32)
    extra = ["7", "--out", str(tmp_path / "r.wav")] if what == "download" else []
    url = f"http://127.0.0.1:{silent_port}"
    code = main(
        # --timeout stays 10 s: only the deadline can end this.
        ["pbx", what, *extra, "--url", url, *SOME_KEY, "--deadline", "1"]
    )
    assert code == 1
    captured = capsys.readouterr()
    assert captured.err == (
        f"pbx-companion: The PBX did not finish answering `pbx {what}` within 1 s; nothing more "
        "was read.\nWhat to do: Try again when the PBX is less busy, check any reverse proxy or "
        "firewall in front of it, or give the command longer with --deadline SECONDS.\n"
    )
    assert captured.out == ""


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("pbx.example.com:0", "pbx-companion: --url: Port 0 is not a port a PBX can listen on"),
        ("https://pbx.example.com:99999", "pbx-companion: --url: Port 99999 is out of range"),
        ("pbx.example.com:https", "pbx-companion: --url: The port 'https' is not a number"),
    ],
)
def test_a_bad_port_exits_2_naming_it(
    url: str, says: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PBX_KEY", "k" * 32)
    assert main(["pbx", "info", "--url", url, *SOME_KEY]) == 2
    assert capsys.readouterr().err.startswith(says)


def test_a_bare_ipv6_address_is_a_host(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``::1`` is read as the host (port 443), not as a host "" with port ":1"."""
    monkeypatch.setenv("PBX_KEY", "k" * 32)
    code = main(["pbx", "info", "--url", "::1", *SOME_KEY, "--timeout", "2", "--deadline", "5"])
    err = capsys.readouterr().err
    assert code == 1, err  # not 2: the address is fine; nothing answers on [::1]:443
    assert "--url" not in err and "Port could not be cast" not in err
    assert "could not be reached" in err or "did not finish answering" in err


def test_plain_http_to_an_https_port_warns_on_stderr(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PBX_KEY", "k" * 32)
    main(["pbx", "info", "--url", "http://127.0.0.1:5001", *SOME_KEY, "--timeout", "1"])
    captured = capsys.readouterr()
    assert captured.err.startswith(
        "pbx-companion: warning: --url: 3CX serves its API over HTTPS on port 5001, and this "
        "address says http:// — did you mean https://127.0.0.1:5001?\n"
    )
    assert "warning" not in captured.out
