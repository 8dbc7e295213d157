"""Policy decisions: the Rego in ``policies/`` decides every exchange; this package asks it.

One interface (:class:`~gateway.policy.service.PolicyDecider`) with two engines behind it:
regorus in-process (the default) and an OPA server over its Data API (``GATEWAY_OPA_URL``).
"""
