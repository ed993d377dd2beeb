"""dmgbuild settings for the macOS disk image: the app beside an Applications link.

    dmgbuild -s installer/macos/dmg_settings.py \
        -D app="build/dist/PBX Companion.app" "PBX Companion" build/installer/PBX-Companion.dmg

dmgbuild runs this file with ``defines`` (the -D values) in its namespace.
"""

import os.path

defines: dict[str, str] = globals().get("defines", {})

application = defines.get("app", "build/dist/PBX Companion.app")
appname = os.path.basename(application)

format = "UDZO"  # zlib-compressed, read-only: opens on every supported macOS
size = None  # dmgbuild works it out from the contents

files = [application]
symlinks = {"Applications": "/Applications"}
# The mounted volume shows the app's own icon (PyInstaller copies it into the bundle).
icon = os.path.join(application, "Contents", "Resources", "pbx-companion.icns")

# The window: the app on the left, drag it onto Applications on the right.
show_status_bar = False
show_tab_view = False
show_toolbar = False
show_pathbar = False
show_sidebar = False
window_rect = ((200, 120), (560, 340))
default_view = "icon-view"
icon_size = 128
text_size = 13
icon_locations = {
    appname: (140, 160),
    "Applications": (420, 160),
}
