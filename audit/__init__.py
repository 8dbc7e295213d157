"""The append-only, verifiable audit log (RFC 6962 Merkle tree, signed checkpoints).

A package of its own that never imports ``gateway``: an auditor must be able to verify an
export with this package alone. The log itself lands with issue 6 ("Audit log"); until then
the gateway writes no audit entries, and nothing here pretends otherwise.
"""
