"""Make the app icon in every size Windows, macOS and Linux need, from one source image.

The source is drawn here at 1024 px (the report logo's teal tile, a phone handset and a
recording waveform), or read from ``--source`` when a designer supplies a square PNG. Every
other size is scaled down from that one image and written to ``resources/icons/``:

- ``pbx-companion-<N>.png`` for N in 16 … 1024 (Linux, the window icon, the README);
- ``pbx-companion.ico``: 16 … 48 as 32-bit bitmaps, 64 … 256 as PNG (Windows, Inno Setup);
- ``pbx-companion.icns``: PNG entries ic07 … ic14, icp4, icp5 (the macOS .app bundle).

Qt writes one image per file, so the two containers are assembled here.

    .venv/bin/python build/make_icons.py [--source SQUARE.png] [--out resources/icons]
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from collections.abc import Mapping
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QGuiApplication,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPainterPathStroker,
    QPen,
    QTransform,
)

MASTER = 1024
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICO_PNG_FROM = 64  # smaller ICO entries are bitmaps: the classic shell and resource tools read them
# ICNS entry type -> pixel size (Apple's "Icon Image Types"; all PNG-encoded).
ICNS_TYPES: dict[bytes, int] = {
    b"icp4": 16,
    b"icp5": 32,
    b"ic11": 32,  # 16 pt @2x
    b"ic12": 64,  # 32 pt @2x
    b"ic07": 128,
    b"ic13": 256,  # 128 pt @2x
    b"ic08": 256,
    b"ic14": 512,  # 256 pt @2x
    b"ic09": 512,
    b"ic10": 1024,  # 512 pt @2x
}
NAME = "pbx-companion"
ICONS_DIR = Path(__file__).resolve().parents[1] / "resources" / "icons"

TEAL_TOP = QColor("#168591")
TEAL_BOTTOM = QColor("#0b5760")  # the report logo's #0f6e78 sits between the two
WHITE = QColor("#ffffff")
BAR_HEIGHTS = (0.45, 0.85, 0.6)  # the recording waveform, as in the report logo


def draw_source(size: int = MASTER) -> QImage:
    """The master icon: a rounded teal tile, a white handset, a waveform where it listens."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(size / 100, size / 100)  # drawn on a 100-unit grid

    tile = QPainterPath()
    tile.addRoundedRect(QRectF(6, 6, 88, 88), 20, 20)
    gradient = QLinearGradient(QPointF(0, 6), QPointF(0, 94))
    gradient.setColorAt(0, TEAL_TOP)
    gradient.setColorAt(1, TEAL_BOTTOM)
    painter.fillPath(tile, QBrush(gradient))

    painter.fillPath(_handset(), WHITE)
    pen = QPen(WHITE, 5.2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap)
    painter.setPen(pen)
    for index, height in enumerate(BAR_HEIGHTS):
        x = 62 + index * 9
        half = height * 12
        painter.drawLine(QPointF(x, 33 - half), QPointF(x, 33 + half))
    painter.end()
    return image


def _handset() -> QPainterPath:
    """A classic handset: ear and mouth pads joined by a curved grip, tilted 45 degrees."""
    grip = QPainterPath(QPointF(37, 26))
    grip.cubicTo(QPointF(22, 38), QPointF(22, 62), QPointF(37, 74))
    stroker = QPainterPathStroker()
    stroker.setWidth(13)
    stroker.setCapStyle(Qt.PenCapStyle.RoundCap)
    shape = stroker.createStroke(grip)
    for top in (18.0, 67.0):
        pad = QPainterPath()
        pad.addRoundedRect(QRectF(29, top, 25, 15), 5, 5)
        shape = shape.united(pad)
    shape = shape.simplified()
    tilt = QTransform().translate(43, 57).rotate(-40).scale(0.86, 0.86).translate(-40, -50)
    return tilt.map(shape)


def scaled(source: QImage, size: int) -> QImage:
    """``source`` at ``size`` x ``size``: Qt's smooth scaling averages when shrinking."""
    image = source.convertToFormat(QImage.Format.Format_ARGB32)
    if image.width() == size and image.height() == size:
        return image
    return image.scaled(
        size,
        size,
        Qt.AspectRatioMode.IgnoreAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def _bitmap_entry(image: QImage) -> bytes:
    """A 32-bit ICO bitmap: BITMAPINFOHEADER (height doubled), BGRA rows bottom-up, AND mask."""
    size = image.width()
    argb = image.convertToFormat(QImage.Format.Format_ARGB32)
    rows = [bytes(argb.constScanLine(y))[: size * 4] for y in range(size)]  # BGRA in memory
    mask_stride = ((size + 31) // 32) * 4
    header = struct.pack(
        "<IiiHHIIiiII",
        40,
        size,
        size * 2,
        1,
        32,
        0,
        size * size * 4 + mask_stride * size,
        0,
        0,
        0,
        0,
    )
    # All-zero mask: the alpha channel already says which pixels show.
    return header + b"".join(reversed(rows)) + bytes(mask_stride * size)


def ico_bytes(images: Mapping[int, QImage]) -> bytes:
    """An ICO file holding one entry per size (ICONDIR, ICONDIRENTRYs, then the images)."""
    sizes = sorted(images)
    payloads = [
        png_bytes(images[s]) if s >= ICO_PNG_FROM else _bitmap_entry(images[s]) for s in sizes
    ]
    out = bytearray(struct.pack("<HHH", 0, 1, len(sizes)))
    offset = 6 + 16 * len(sizes)
    for size, payload in zip(sizes, payloads, strict=True):
        side = 0 if size >= 256 else size  # 0 means 256 in the one-byte fields
        out += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(payload), offset)
        offset += len(payload)
    for payload in payloads:
        out += payload
    return bytes(out)


def icns_bytes(pngs: Mapping[int, bytes]) -> bytes:
    """An ICNS file: the 'icns' header, then one PNG entry per type in ICNS_TYPES."""
    body = bytearray()
    for kind, size in ICNS_TYPES.items():
        data = pngs[size]
        body += kind + struct.pack(">I", 8 + len(data)) + data
    return b"icns" + struct.pack(">I", 8 + len(body)) + bytes(body)


def write_icons(source: QImage, out: Path) -> list[Path]:
    """Every size from ``source`` into ``out``; returns the files written."""
    if source.width() != source.height() or source.width() < 512:
        raise ValueError(
            f"--source: the image must be square and at least 512 px, "
            f"got {source.width()} x {source.height()}"
        )
    out.mkdir(parents=True, exist_ok=True)
    images = {size: scaled(source, size) for size in PNG_SIZES}
    pngs = {size: png_bytes(image) for size, image in images.items()}
    written = []
    for size, data in pngs.items():
        path = out / f"{NAME}-{size}.png"
        path.write_bytes(data)
        written.append(path)
    ico = out / f"{NAME}.ico"
    ico.write_bytes(ico_bytes({size: images[size] for size in ICO_SIZES}))
    icns = out / f"{NAME}.icns"
    icns.write_bytes(icns_bytes(pngs))
    return [*written, ico, icns]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, help="a square PNG to use instead of the drawing")
    parser.add_argument("--out", type=Path, default=ICONS_DIR, help="folder to write into")
    args = parser.parse_args(argv)
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    assert app is not None
    if args.source is None:
        source = draw_source()
    else:
        source = QImage(str(args.source))
        if source.isNull():
            parser.error(f"--source: {args.source} is not an image Qt can read")
    try:
        written = write_icons(source, args.out)
    except ValueError as error:
        parser.error(str(error))
    for path in written:
        print(f"{path.stat().st_size:>9,} B  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
