"""Hooks of the HubSpot imports provider."""
