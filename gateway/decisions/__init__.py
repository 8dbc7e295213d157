"""Decisions anyone can replay (DOMAIN.md rule 8).

Every decision the gateway acts on is kept with its full input document and its answer
(``decision_records``), linked to the exchange and to the audit entry that commits to both by
hash; every policy bundle that ever decided is kept under its version (``policy_bundles``).
``replay`` re-evaluates a kept input under its kept bundle and says whether the answer is the
same.
"""
