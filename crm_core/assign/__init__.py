"""Assigning records to operators: strategies, eligibility and the assignment pass."""
