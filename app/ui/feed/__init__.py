"""Live calls: the table model, its words, the pane and the recording journey drawing."""
