"""The YAML workflow engine: the format (schema.json), loading with located errors, conditions."""
