"""Small widgets shared by several panes, dialogs and setup steps."""
