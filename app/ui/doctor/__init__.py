"""The doctor in the window: the seven checks as a table and the pane around it."""
