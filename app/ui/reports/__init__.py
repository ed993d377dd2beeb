"""The setup report: the preview dialog and the PDF layout."""
