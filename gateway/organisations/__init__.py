"""The organisation registry: who may connect to the gateway, in which role, with which keys."""
