"""A training school's plugin for crm-core; its hooks are gathered in :mod:`crm_school.plugin`."""
