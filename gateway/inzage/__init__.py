"""Inzage (AVG art. 15): what the gateway holds about a child, for the child's parents with
gezag and for the child from 16."""
