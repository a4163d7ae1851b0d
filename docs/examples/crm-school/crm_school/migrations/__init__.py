"""The school plugin's alembic revisions: its own version branch, labelled ``school``."""
