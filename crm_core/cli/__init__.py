"""The ``crm`` command line: thin typer sub-apps that parse, call the API and render."""
