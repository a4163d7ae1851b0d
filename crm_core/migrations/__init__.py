"""Alembic migrations of the core schema; ``crm db upgrade`` runs them."""
