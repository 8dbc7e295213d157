"""Leerplicht signals: verzuim and thuiszitter signals, exemption facts, and at-home alerts.

A school or SWV reports absence facts; the gateway applies the thresholds of the Leerplichtwet
practice (:mod:`gateway.signals.thresholds`) and, when one is met, delivers only the signal
fields to the leerplicht office of the child's gemeente as a ``verzuimmelding`` exchange.
Leerplicht records *that* a child is exempted (article, valid until), never why; an SWV asks
and gets that fact through a ``vrijstelling-status`` exchange. A daily job raises an alert when
an exempted child or a thuiszitter has had no new school placement for three months.
"""
