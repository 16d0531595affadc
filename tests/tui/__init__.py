"""Tests of the Textual view (pilot, snapshots, a real pty)."""
