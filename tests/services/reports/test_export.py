"""Reports from real doctor runs against the simulator, in all three formats.

PDF rendering needs Qt: the services layer takes it as a callable, and these tests pass the
real one (app.ui.reports.pdf), headless.
"""

from __future__ import annotations

import html
import json
import struct
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.domain.diagnosis import CHECK_ORDER, TITLES, CheckId, CheckStatus, Diagnosis
from app.domain.report import REDACTED, Report, ReportMeta
from app.services.doctor import Doctor
from app.services.reports.export import (
    APP_LOGO,
    ReportExportError,
    ReportFormat,
    load_logo,
    logo_from_bytes,
    render,
    render_html,
    render_json,
    report_format,
    write_atomically,
    write_report,
)
from app.sim import Simulator
from app.threecx.connect import open_client
from app.threecx.v20.client import V20Client
from app.ui.reports.pdf import render_pdf
from tests.conftest import SimFactory
from tests.services.doctor.test_late_recording import recording_extension, watch_one_call
from tests.support.pdf import pdf_text
from tests.support.timeouts import timeouts_for
from tests.threecx.conftest import params_for

SCHEMA = json.loads(
    (Path(__file__).parents[3] / "resources/schemas/pbx-companion-report-1.schema.json").read_text()
)
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
HOSTILE = '<script>alert("x")</script> & Sons'
# Each scenario: simulator faults, the check it must raise as an outstanding action and how
# (a failure is also the first failure; the "healthy" tenant fails nothing, though it warns
# about callers no contact has).
SCENARIOS: dict[str, tuple[list[str], CheckId | None, str]] = {
    "healthy": ([], None, "fail"),
    "retention": (["retention-deleted=30"], CheckId.RETENTION, "fail"),
    "roles": (["missing-recording-role"], CheckId.API_ROLES, "fail"),
    "extension": (["extension-not-recording"], CheckId.EXTENSION_RECORDING, "fail"),
    "certificate": (["tls-expiring=5"], CheckId.REACHABILITY, "warn"),
    "unreachable": (["bad-key"], CheckId.REACHABILITY, "fail"),
}


async def diagnose(sim: Simulator) -> Diagnosis:
    return await Doctor(params_for(sim, timeouts=timeouts_for(sim)), sim.client_secret).run()


def meta(**changes: Any) -> ReportMeta:
    fields: dict[str, Any] = {
        "generated_at": datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        "customer": HOSTILE,
        "connection": "Main office PBX",
        "engineer": "Sam Engineer",
        "app_version": "0.1.0",
    }
    fields.update(changes)
    return ReportMeta(**fields)


def all_formats(report: Report, folder: Path, secrets: list[str]) -> dict[ReportFormat, Path]:
    return {
        fmt: write_report(
            report, folder / f"report{fmt.suffix}", pdf_renderer=render_pdf, secrets=secrets
        )
        for fmt in ReportFormat
    }


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_every_format_from_a_simulator_scenario(
    make_sim: SimFactory, tmp_path: Path, scenario: str
) -> None:
    faults, expected, status = SCENARIOS[scenario]
    sim = await make_sim(tls=True, faults=faults)
    report = Report.build(await diagnose(sim), meta())
    files = all_formats(report, tmp_path, [sim.client_secret])

    document = json.loads(files[ReportFormat.JSON].read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert [c["id"] for c in document["checks"]] == [c.value for c in CHECK_ORDER]
    actions = document["outstanding_actions"]
    raised = [a["check"] for a in actions if a["status"] == status]
    if expected is None:
        assert raised == [] and document["first_failure"] is None
    else:
        assert expected.value in raised
    if status == "fail":
        assert document["first_failure"] == (expected and expected.value)

    page = files[ReportFormat.HTML].read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&amp; Sons" in page
    positions = [page.index(f"<h3>{html.escape(f'{c.order}. {TITLES[c]}')}") for c in CHECK_ORDER]
    assert positions == sorted(positions)

    text = pdf_text(files[ReportFormat.PDF])
    assert '<script>alert("x")</script> & Sons' in text  # shown as text, never run
    for action in actions:
        assert f"{action['order']}. {action['title']}" in text

    for path in files.values():
        assert sim.client_secret.encode() not in path.read_bytes(), path.name
    assert sim.client_secret not in text


async def test_unreachable_report_says_what_was_blocked(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True, faults=["bad-key"])
    report = Report.build(await diagnose(sim), meta())
    document = report.as_json()
    assert [c["status"] for c in document["checks"]] == ["skip"] * 6 + ["fail"]
    assert [a["check"] for a in document["outstanding_actions"]] == ["reachability"]
    assert document["reachability"]["steps"], "the probe steps explain where it stopped"
    assert {c["status"] for c in document["capabilities"]} == {"skip"}


async def test_late_recording_timeline_is_in_every_format(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["late-recording=2.5"])
    diagnosis = await watch_one_call(sim, window_s=1.0, extension=recording_extension(sim))
    report = Report.build(diagnosis, meta(customer="Harbour Dental"))
    assert report.late_recording is not None
    journey = report.late_recording.journeys[0]
    assert journey.ready_after_s is not None and journey.ready_after_s >= 2.5
    assert journey.attempts[-1].found and not journey.attempts[0].found
    files = all_formats(report, tmp_path, [sim.client_secret])
    VALIDATOR.validate(json.loads(files[ReportFormat.JSON].read_text(encoding="utf-8")))
    text = pdf_text(files[ReportFormat.PDF])
    assert "Recording timeline" in text
    assert f"recording ready {journey.ready_after_s:.1f} s after hang-up" in text
    assert "after the bridge gave up" in text


async def test_no_secret_or_token_reaches_any_output_even_if_a_check_leaked_one(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True)
    client = await open_client(params_for(sim), sim.client_secret)
    try:
        assert isinstance(client, V20Client)
        token = await client.tokens.token()
    finally:
        await client.aclose()
    diagnosis = await diagnose(sim)
    # A careless check that put the key and the bearer header into its evidence and details.
    leaky = replace(
        diagnosis.result(CheckId.LICENCE),
        status=CheckStatus.WARN,
        finding=f"Signed in with {sim.client_secret}",
        fix=f"Retry with Authorization: Bearer {token}",
        evidence=(f"token={token}", f"key {sim.client_secret}"),
        details={"leak": sim.client_secret, token: "as a key"},
    )
    checks = tuple(leaky if c.id is CheckId.LICENCE else c for c in diagnosis.checks)
    report = Report.build(replace(diagnosis, checks=checks), meta(customer="Harbour Dental"))
    files = all_formats(report, tmp_path, [sim.client_secret])
    text = pdf_text(files[ReportFormat.PDF])
    for path in files.values():
        data = path.read_bytes()
        for secret in (sim.client_secret, token, token.split(".")[1]):
            assert secret.encode() not in data, f"{path.name} holds a secret"
    assert sim.client_secret not in text and token not in text
    assert REDACTED in text
    VALIDATOR.validate(json.loads(files[ReportFormat.JSON].read_text(encoding="utf-8")))


def test_the_extension_chooses_the_format_and_anything_else_is_refused(tmp_path: Path) -> None:
    assert report_format(tmp_path / "a.PDF") is ReportFormat.PDF
    assert report_format(tmp_path / "a.htm") is ReportFormat.HTML
    assert report_format(tmp_path / "a.json") is ReportFormat.JSON
    for name in ("a.txt", "report"):
        with pytest.raises(ReportExportError, match=r"\.pdf, \.html or \.json"):
            report_format(tmp_path / name)


async def test_pdf_needs_the_qt_renderer_and_says_so(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    report = Report.build(await diagnose(sim), meta())
    with pytest.raises(ReportExportError, match="Qt renderer"):
        render(report, ReportFormat.PDF)


def test_writes_are_atomic_and_name_the_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    target.write_text("the previous report")
    write_atomically(target, b"{}")
    assert target.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]  # no temporary left behind
    with pytest.raises(ReportExportError, match="does not exist") as caught:
        write_atomically(tmp_path / "missing" / "report.json", b"{}")
    assert "missing" in str(caught.value)
    folder = tmp_path / "report.pdf"
    folder.mkdir()
    with pytest.raises(ReportExportError, match=r"report\.pdf"):
        write_atomically(folder, b"%PDF")
    assert target.read_bytes() == b"{}"


def test_logo_is_sized_into_the_slot_and_bad_images_are_named(tmp_path: Path) -> None:
    app_logo = load_logo(None)
    assert app_logo.mime == "image/png"
    assert app_logo.width <= 240 and app_logo.height <= 64
    assert app_logo.data == APP_LOGO.read_bytes()
    with pytest.raises(ReportExportError, match="not a PNG or JPEG"):
        logo_from_bytes(b"GIF89a....", "msp.gif")
    with pytest.raises(ReportExportError, match=r"nope\.png"):
        load_logo(str(tmp_path / "nope.png"))


async def test_the_msp_logo_replaces_the_app_logo(make_sim: SimFactory, tmp_path: Path) -> None:
    sim = await make_sim(tls=True)
    msp = tmp_path / "msp.png"
    msp.write_bytes(tiny_png(480, 240))
    report = Report.build(await diagnose(sim), meta(logo=str(msp)))
    page = write_report(report, tmp_path / "r.html").read_text(encoding="utf-8")
    assert load_logo(str(msp)).data_uri() in page
    assert load_logo(None).data_uri() not in page
    assert 'width="128" height="64"' in page  # shrunk into the slot, proportions kept


async def test_masked_report_hides_numbers_and_names_in_every_format(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, faults=["unnormalised-contacts"])
    diagnosis = await diagnose(sim)
    plain = Report.build(diagnosis, meta(customer="Harbour Dental"))
    assert plain.contact_match is not None and plain.contact_match.sample
    numbers = {s.number for s in plain.contact_match.sample} | {
        f.stored for f in plain.contact_match.bulk_fixes
    }
    names = {x.name for x in plain.extensions if x.name}
    files = all_formats(plain.with_mask(True), tmp_path, [sim.client_secret])
    text = pdf_text(files[ReportFormat.PDF])
    outputs = {
        "pdf": text,
        "html": files[ReportFormat.HTML].read_text(encoding="utf-8"),
        "json": files[ReportFormat.JSON].read_text(encoding="utf-8"),
    }
    for fmt, content in outputs.items():
        for value in numbers | names:
            assert value not in content, f"{value!r} unmasked in the {fmt} report"
    assert "Phone numbers and names in this report are masked." in text
    assert json.loads(outputs["json"])["masked"] is True


async def test_html_and_json_render_without_qt_or_files(make_sim: SimFactory) -> None:
    sim = await make_sim(tls=True)
    report = Report.build(await diagnose(sim), meta(customer="Harbour Dental"))
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>") and "<thead>" in page
    assert 'src="data:' not in page  # no logo given: none embedded
    assert json.loads(render_json(report))["customer"] == "Harbour Dental"


def tiny_png(width: int, height: int) -> bytes:
    """A valid, all-white RGB PNG, made here."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_every_format_names_the_customers_zone_and_hours(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = await make_sim(tls=True, time_zone="Pacific/Auckland")
    diagnosis = await diagnose(sim)
    report = Report.build(diagnosis, meta(customer="Harbour Dental"))
    assert report.pbx.time_zone == "Pacific/Auckland"
    assert report.pbx.hours_source == "read from the PBX"
    checked = report.pbx.clock(report.checked_at)
    assert checked.endswith("NZDT")  # the suite's pinned instant is in November
    files = all_formats(report, tmp_path, [sim.client_secret])
    document = json.loads(files[ReportFormat.JSON].read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert document["pbx"]["time_zone"] == "Pacific/Auckland"
    assert document["checked_at_customer_time"].endswith("+13:00")
    page = html.unescape(files[ReportFormat.HTML].read_text(encoding="utf-8"))
    assert f"Checked {checked}" in page
    assert "Pacific/Auckland (read from the PBX): times in this report are its" in page
    assert "Mon–Fri 08:30–17:30, break 12:30–13:00, 3 holidays" in page
    assert " UTC" not in page  # no time on another clock
    text = pdf_text(files[ReportFormat.PDF])
    assert "Pacific/Auckland" in text and "NZDT" in text
