"""PyInstaller hook for PySide6.QtGui (build/pbx-companion.spec puts build/ on hookspath).

PyInstaller's own hook collects every QtGui plugin; this one collects the same minus those the
app never loads, before their libraries are gathered: the GTK platform theme (it alone drags in
GTK, cairo and pango: ~20 MB; the app draws with Fusion), embedded-device platforms and input
(eglfs, linuxfb, VNC, evdev, TUIO), and image formats no logo or icon uses.
"""

from pathlib import PurePath

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

UNUSED_PLUGINS = {
    "platforms": ("eglfs", "linuxfb", "vnc", "vkkhrdisplay", "minimalegl"),
    "platformthemes": ("gtk3",),
    "egldeviceintegrations": ("",),
    "generic": ("",),
    # Logos are PNG, JPEG or SVG (Settings); icons are PNG, ICO or ICNS.
    "imageformats": ("gif", "tga", "tiff", "wbmp", "webp", "pdf"),
}


def _unused(source: str) -> bool:
    path = PurePath(source)
    names = UNUSED_PLUGINS.get(path.parent.name, ())
    return any(name in path.stem for name in names)


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [(source, target) for source, target in binaries if not _unused(source)]
