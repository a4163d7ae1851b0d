"""The scheduler: pool returns, rotation, warnings, stage limits and SLA checks."""
