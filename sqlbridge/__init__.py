"""SQL over a live AsyncLoader: ``connect(loader)`` and ``render(table, format_name)``."""
