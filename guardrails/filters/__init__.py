"""Built-in filters. Each module holds one filter class; the registry finds them by entry point."""
