"""Operators of the HubSpot imports provider."""
