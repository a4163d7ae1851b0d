"""crm-core plugin for sales leads (线索)."""
