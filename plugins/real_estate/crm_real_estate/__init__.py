"""crm-real-estate: the buyer kind, its touchpoints and reports for a property developer."""
