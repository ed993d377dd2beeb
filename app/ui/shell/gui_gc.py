"""Garbage collection on the GUI thread only.

Python's cyclic collector runs on whichever thread happens to allocate when a threshold is
crossed, including ``asyncio.to_thread`` workers; collecting a cycle that holds a Qt widget
there deletes the widget off the GUI thread and can crash. So the automatic collector is
switched off and a timer collects on the GUI thread instead (qutebrowser does the same).
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 10_000


def collect_on_gui_thread(parent: QObject) -> QTimer:
    gc.disable()
    timer = QTimer(parent)
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(lambda: gc.collect())
    timer.start()
    return timer
