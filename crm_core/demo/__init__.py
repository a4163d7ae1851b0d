"""``crm demo``: a realistic CRM with people, workflows and records, run for simulated days."""
