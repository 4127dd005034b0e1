"""Benchmarks (``python -m lvstui.bench``): they print figures; nothing here asserts a time."""
