"""Turning value objects into human text (the CLI prints what these return)."""
