"""Modal screens of the probe TUI: help, knowledge browser, save."""
