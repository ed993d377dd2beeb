"""The setup report: export to PDF, HTML and JSON, its formats, its HTML, its logo and who it is from."""
