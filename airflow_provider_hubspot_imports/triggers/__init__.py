"""Triggers of the HubSpot imports provider."""
