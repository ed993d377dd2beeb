"""The window itself: the main window, its log pane and the preferences dialog."""
