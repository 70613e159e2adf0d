"""Metrics, scoring beside the baselines, reports, speed."""
