"""Helpers behind the shared test fixtures: real daemons (D-Bus, gnome-keyring, Xvfb) run privately."""
