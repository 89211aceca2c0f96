"""Test helpers that ship with the package (local stand-in servers)."""
