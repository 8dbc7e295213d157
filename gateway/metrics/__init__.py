"""Prometheus metrics: counters of the work done, gauges of the database, and ``/metrics``."""
