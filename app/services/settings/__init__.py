"""The settings file: the app's preferences and every saved connection, with its contacts and hours."""
