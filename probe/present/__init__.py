"""What every view shares: wrapping by terminal cells, annotation sections, the
plain-text and JSON renderings of a report. UI-free (no rich, no textual)."""
