from __future__ import annotations

import asyncio
import json
import signal
import ssl
import subprocess
import sys

import aiohttp
import pytest


async def test_tls_verifies_with_the_ca_and_faults_break_it(make_sim) -> None:
    sim = await make_sim(tls=True)
    assert sim.url.startswith("https://") and sim.ca_file
    ctx = ssl.create_default_context(cafile=sim.ca_file)
    # A fresh TLS handshake per request: the certificate faults act at handshake time.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        async with http.get(f"{sim.url}/xapi/v1/Defs", ssl=ctx) as r:
            assert r.status == 401
        for fault, words in (("tls-expired", "expired"), ("tls-wrong-host", "mismatch")):
            sim.faults.enable(fault)
            with pytest.raises(aiohttp.ClientConnectorCertificateError) as info:
                async with http.get(f"{sim.url}/xapi/v1/Defs", ssl=ctx):
                    pass
            assert words in str(info.value).lower()
            sim.faults.disable(fault)


async def test_cli_prints_one_json_line_and_stops_on_sigint(tmp_path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.sim",
        "--calls-per-minute",
        "30",
        "--tls",
        "--fault",
        "late-recording=5",
        "--scenario",
        "us",
        "--state-dir",
        str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        info = json.loads(line)
        assert set(info) == {
            "url",
            "client_id",
            "client_secret",
            "ca_file",
            "version",
            "admin_username",
            "admin_password",
        }
        assert info["admin_username"] and info["admin_password"]
        ctx = ssl.create_default_context(cafile=info["ca_file"])
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{info['url']}/_sim/state", ssl=ctx) as r,
        ):
            state = await r.json()
        assert state["country"] == "US" and "late-recording=5" in state["faults"]
        proc.send_signal(signal.SIGINT)
        rest, _ = await asyncio.wait_for(proc.communicate(), 20)
        assert rest == b""
        assert proc.returncode == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
