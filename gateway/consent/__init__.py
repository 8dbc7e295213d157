"""Consent: what a holder (a parent with gezag, or the child) agreed to, and what they were told."""
