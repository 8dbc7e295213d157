"""Webhooks (Standard Webhooks): organisations are told of new work instead of polling."""
