"""Draw the app's own report logo (resources/report/logo.png), shown when the MSP has none.

A rounded teal tile with a recording waveform, and the product name beside it. Drawn with Qt
at 3x the size the report shows it (about 240 x 64 px), so the PDF stays sharp when printed.

    .venv/bin/python build/make_report_logo.py [OUT.png]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPainter,
    QPainterPath,
)

SCALE = 3
HEIGHT = 64
TEXT_X = 68
NAME = "PBX Companion"
TAG = "3CX call recording, verified"
TEAL = QColor("#0f6e78")
INK = QColor("#1d2b36")
MUTED = QColor("#5b6b78")
BARS = (0.34, 0.62, 0.9, 0.5, 0.74, 0.4)  # the waveform's bar heights, of the tile's inner height


def draw(out: Path) -> None:
    name = QFont("DejaVu Sans")
    name.setPixelSize(19)
    name.setBold(True)
    tagline = QFont("DejaVu Sans")
    tagline.setPixelSize(10)
    text_w = max(
        QFontMetricsF(name).horizontalAdvance(NAME), QFontMetricsF(tagline).horizontalAdvance(TAG)
    )
    width = int(TEXT_X + text_w + 6)
    image = QImage(width * SCALE, HEIGHT * SCALE, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.scale(SCALE, SCALE)

    tile = QRectF(2, 4, 56, 56)
    path = QPainterPath()
    path.addRoundedRect(tile, 12, 12)
    painter.fillPath(path, TEAL)

    bar_w, gap = 4.0, 3.5
    total = len(BARS) * bar_w + (len(BARS) - 1) * gap
    x = tile.center().x() - total / 2
    inner = tile.height() - 20
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor("white"))
    for height in BARS:
        h = inner * height
        painter.drawRoundedRect(QRectF(x, tile.center().y() - h / 2, bar_w, h), 2, 2)
        x += bar_w + gap

    painter.setFont(name)
    painter.setPen(INK)
    painter.drawText(
        QRectF(TEXT_X, 8, text_w + 4, 30),
        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
        NAME,
    )
    painter.setFont(tagline)
    painter.setPen(MUTED)
    painter.drawText(
        QRectF(TEXT_X + 1, 38, text_w + 4, 18),
        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
        TAG,
    )
    painter.end()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(out), "PNG"):
        raise SystemExit(f"could not write {out}")


def main() -> None:
    default = Path(__file__).resolve().parents[1] / "resources" / "report" / "logo.png"
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else default
    app = QGuiApplication.instance() or QGuiApplication([])
    draw(out)
    del app
    print(out)


if __name__ == "__main__":
    main()
