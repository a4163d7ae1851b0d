"""The operator's terminal UI (``crm tui``): Textual screens over :mod:`crm_core.api` only."""
