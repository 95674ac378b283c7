"""The dashboard's pages: each ``render(ctx)`` reads filters from ``ctx``, data, then draws."""
