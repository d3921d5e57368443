"""The report: registry of outputs, formatting, tables, figures, book helpers, Sphinx extension, export."""
