"""The training report: queries (figures), charts and one self-contained HTML page."""
