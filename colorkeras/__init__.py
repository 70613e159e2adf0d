"""colorkeras."""
