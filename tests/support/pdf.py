"""Read a PDF the way a person would: its text (pdftotext) and its pages as images (pdftoppm)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.support.system_tools import require_programs

TIMEOUT_S = 60


def require_poppler() -> None:
    require_programs(
        "pdftotext", "pdftoppm", "pdfinfo", packages="poppler-utils", purpose="PDF report tests"
    )


def pdf_text(pdf: Path, *, first: int | None = None, last: int | None = None) -> str:
    """The text of the PDF (or of pages first..last) in its printed layout."""
    require_poppler()
    pages = []
    if first is not None:
        pages += ["-f", str(first)]
    if last is not None:
        pages += ["-l", str(last)]
    done = subprocess.run(
        ["pdftotext", "-layout", *pages, str(pdf), "-"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return done.stdout


def pdf_pages(pdf: Path) -> int:
    require_poppler()
    info = subprocess.run(
        ["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=TIMEOUT_S, check=True
    ).stdout
    found = re.search(r"^Pages:\s+(\d+)", info, re.MULTILINE)
    assert found, info
    return int(found.group(1))


def pdf_to_pngs(pdf: Path, folder: Path, *, dpi: int = 60, prefix: str = "page") -> list[Path]:
    """Every page as a PNG (page-1.png, ...), for the eye and for colour checks."""
    require_poppler()
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{prefix}-*.png"):
        old.unlink()
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(folder / prefix)],
        capture_output=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return sorted(folder.glob(f"{prefix}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
