"""Drafting a convention from a sample delivery: sniff how the file is written, find which
column holds what, write a commented YAML the catalog loads, and dry-run it on the file."""
