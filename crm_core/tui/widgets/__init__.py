"""Widgets the TUI's screens share: forms, charts, record tables."""
