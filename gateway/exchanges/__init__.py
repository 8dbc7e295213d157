"""Exchanges: a request or offer of a child's data for one purpose, from decision to shredding."""
