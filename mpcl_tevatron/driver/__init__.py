"""Thin command-line mains; each dispatches to the adapter of the installed Tevatron."""
