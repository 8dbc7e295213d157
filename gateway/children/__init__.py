"""Children, known to the gateway only by a keyed pseudonym of their BSN."""
