"""Benchmarks: speed and quality measured on real data, results written to files here."""
