"""The logo at the top of a report: the MSP's own PNG or JPEG, else the app's, sized to fit."""

import base64
import struct
from dataclasses import dataclass
from pathlib import Path

from app.services.paths import resources_dir
from app.services.reports.formats import ReportExportError

APP_LOGO = resources_dir() / "report" / "logo.png"
LOGO_BOX = (240, 64)  # the largest the logo is shown, in CSS pixels
LOGO_MAX_BYTES = 2_000_000


@dataclass(frozen=True)
class Logo:
    data: bytes
    mime: str
    width: int  # shown size, CSS pixels, aspect kept
    height: int

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode('ascii')}"


def logo_from_bytes(data: bytes, where: str = "logo") -> Logo:
    """A PNG or JPEG, sized to fit the report's logo slot; else an error naming ``where``."""
    size = png_size(data) or jpeg_size(data)
    if size is None:
        raise ReportExportError(f"{where}: not a PNG or JPEG image")
    mime = "image/png" if data.startswith(b"\x89PNG") else "image/jpeg"
    width, height = size
    if width <= 0 or height <= 0:
        raise ReportExportError(f"{where}: the image has no size")
    # Shrunk to fit the slot, never enlarged: a logo drawn large for print stays sharp.
    scale = min(LOGO_BOX[0] / width, LOGO_BOX[1] / height, 1.0)
    return Logo(data, mime, max(1, round(width * scale)), max(1, round(height * scale)))


def load_logo(source: bytes | str | Path | None) -> Logo:
    """The MSP's logo (bytes or a file), else the app's own. Reads a file: not on the GUI thread."""
    if isinstance(source, bytes):
        return logo_from_bytes(source)
    path = Path(source) if source else APP_LOGO
    try:
        if path.stat().st_size > LOGO_MAX_BYTES:
            raise ReportExportError(f"{path}: the logo is larger than 2 MB; use a smaller image")
        data = path.read_bytes()
    except OSError as exc:
        raise ReportExportError(f"{path}: {exc.strerror or exc}") from exc
    return logo_from_bytes(data, str(path))


def png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or not data.startswith(b"\x89PNG\r\n\x1a\n") or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def jpeg_size(data: bytes) -> tuple[int, int] | None:
    if not data.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 9 < len(data):
        if data[at] != 0xFF:
            return None
        marker = data[at + 1]
        length = struct.unpack(">H", data[at + 2 : at + 4])[0]
        # Start-of-frame markers carry the size (C0-CF, except the DHT/JPG/DAC ones).
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[at + 5 : at + 9])
            return int(width), int(height)
        at += 2 + length
    return None
