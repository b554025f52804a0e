"""pytest plugin (being assembled)."""
