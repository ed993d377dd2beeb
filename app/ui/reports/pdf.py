"""The setup report as an A4 PDF: the report's HTML laid out by Qt, page by page.

``QTextDocument`` paginates the HTML (repeating each table's ``<thead>`` row on every page it
spans); each page is then painted with a clip, and the footer ("Page n of N") is drawn by hand
under it, which ``QTextDocument.print_()`` cannot do. Works headless: the CLI calls it with no
display, on an offscreen ``QGuiApplication`` created here if the process has none.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QLineF, QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QPageLayout,
    QPageSize,
    QPaintDevice,
    QPainter,
    QPdfWriter,
    QPen,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextOption,
)
from PySide6.QtWidgets import QApplication

# Lay out in CSS pixels (96 per inch) so the HTML's pixel sizes (the logo) mean what they do in
# a browser; text is in points and stays vector, so nothing is lost in print.
RESOLUTION = 96
MARGINS_MM = QMarginsF(16, 14, 16, 10)  # left, top, right, bottom (the footer sits above it)
FOOTER_PX = 34
KEEP_WITH_NEXT_PX = 70  # a heading needs about three lines of its section under it
FOOTER_COLOUR = QColor("#5b6b78")
RULE_COLOUR = QColor("#c9d3db")

_app: QApplication | None = None  # the one this module created, kept alive for the process


def ensure_gui_application() -> QGuiApplication:
    """The running Qt application, or a new offscreen one (a CLI process has none)."""
    global _app
    existing = QGuiApplication.instance()
    if isinstance(existing, QGuiApplication):
        return existing
    # Rendering needs fonts, never a window: the offscreen platform works with no display.
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # A QApplication, not a bare QGuiApplication: whatever runs later in this process (a test
    # run, the GUI) may need widgets, and Qt allows one application object per process.
    _app = QApplication(["pbx-companion"])
    return _app


def report_document(html: str, device: QPaintDevice | None = None) -> QTextDocument:
    """The HTML as a document that wraps long words (URLs, fingerprints) instead of clipping,
    laid out for ``device`` (the PDF writer) when given, else for the screen."""
    document = QTextDocument()
    document.setDefaultFont(without_ligatures(QFont()))
    if device is not None:
        document.documentLayout().setPaintDevice(device)
    option = QTextOption()
    option.setWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
    document.setDefaultTextOption(option)
    document.setDocumentMargin(0)
    document.setHtml(html)
    return document


def without_ligatures(font: QFont) -> QFont:
    """``font`` with ligatures off: "fi" stays two letters, so the PDF's text searches, copies
    and extracts as written ("fix", not "\ufb01x")."""
    for tag in ("liga", "clig"):
        font.setFeature(QFont.Tag(tag), 0)
    return font


def render_pdf(html: str, *, footer: str, title: str = "") -> bytes:
    """The report's PDF bytes. Call on the thread that owns the Qt application."""
    ensure_gui_application()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setTitle(title)
    writer.setCreator("PBX Companion")
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(MARGINS_MM, QPageLayout.Unit.Millimeter)
    writer.setResolution(RESOLUTION)

    document = report_document(html, writer)
    page = writer.pageLayout().paintRectPixels(RESOLUTION)
    body = QSizeF(page.width(), page.height() - FOOTER_PX)
    document.setPageSize(body)
    _keep_headings_with_their_text(document, body.height())
    count = document.pageCount()

    painter = QPainter()
    if not painter.begin(writer):
        raise RuntimeError("Qt could not start a PDF page")
    try:
        for index in range(count):
            if index:
                writer.newPage()
            top = index * body.height()
            painter.save()
            painter.translate(0, -top)
            document.drawContents(painter, QRectF(0, top, body.width(), body.height()))
            painter.restore()
            _footer(
                painter, QRectF(0, body.height(), body.width(), FOOTER_PX), footer, index, count
            )
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def _keep_headings_with_their_text(document: QTextDocument, page_height: float) -> int:
    """A heading with too little room under it at the foot of a page starts the next page.

    Returns how many headings were moved."""
    moved = 0
    layout = document.documentLayout()
    cursor = QTextCursor(document)
    block = document.begin()
    while block.isValid():
        fmt = block.blockFormat()
        if fmt.headingLevel() > 1 and not block.textList():
            rect = layout.blockBoundingRect(block)
            room = page_height - (rect.bottom() % page_height)
            if room < KEEP_WITH_NEXT_PX and rect.height() < page_height / 4:
                fmt.setPageBreakPolicy(QTextFormat.PageBreakFlag.PageBreak_AlwaysBefore)
                cursor.setPosition(block.position())
                cursor.setBlockFormat(fmt)
                # Qt's incremental relayout can leave the blocks after it in place: lay out
                # everything from here again before measuring the next heading.
                start = block.position()
                document.markContentsDirty(start, document.characterCount() - start)
                moved += 1
        block = block.next()
    return moved


def _footer(painter: QPainter, area: QRectF, text: str, index: int, count: int) -> None:
    painter.save()
    painter.setPen(QPen(RULE_COLOUR, 0.8))
    line_y = area.top() + 10
    painter.drawLine(QLineF(area.left(), line_y, area.right(), line_y))
    font = without_ligatures(QFont("DejaVu Sans"))
    font.setPointSizeF(7.5)
    painter.setFont(font)
    painter.setPen(FOOTER_COLOUR)
    number = f"Page {index + 1} of {count}"
    metrics = QFontMetricsF(font, painter.device())
    number_w = metrics.horizontalAdvance(number) + 4
    text_area = QRectF(area.left(), line_y + 4, area.width() - number_w - 16, area.height() - 14)
    left = metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, text_area.width())
    flags = Qt.AlignmentFlag.AlignTop
    painter.drawText(text_area, int(flags | Qt.AlignmentFlag.AlignLeft), left)
    painter.drawText(
        QRectF(area.right() - number_w, line_y + 4, number_w, area.height() - 14),
        int(flags | Qt.AlignmentFlag.AlignRight),
        number,
    )
    painter.restore()
