"""The desktop app (PySide6 on the qasync loop). The only layer that imports Qt."""
