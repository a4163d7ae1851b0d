"""crm-core plugin for B2B accounts (企业客户): companies, their opportunities and segments."""
