"""Reports: named queries the core and plugins register, run in SQL over the live data."""
