"""The pure core: every decision about HubSpot's Imports API, free of I/O.

The sync hook (requests) and the async client (asyncio streams) only move bytes and call these functions,
so the two can never disagree on a URL, a validation rule, a parsed record or a retry.
"""
