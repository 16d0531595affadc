"""Widgets of the probe TUI; each one is a view over the transcript fold."""
