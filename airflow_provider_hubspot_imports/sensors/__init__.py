"""Sensors of the HubSpot imports provider."""
