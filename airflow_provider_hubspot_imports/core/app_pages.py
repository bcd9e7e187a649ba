"""Where an import can be seen in HubSpot's web app."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# api-eu1.hubapi.com (EU data centre) serves accounts whose web app is app-eu1.hubspot.com.
_REGIONAL_API_HOST = re.compile(r"^api-(?P<region>[a-z]{2}\d+)\.hubapi\.com$")


def app_base_url(api_base_url: str) -> str:
    host = (urlsplit(api_base_url).hostname or "").lower()
    match = _REGIONAL_API_HOST.match(host)
    return f"https://app-{match.group('region')}.hubspot.com" if match else "https://app.hubspot.com"


def import_page_url(api_base_url: str, portal_id: str | None) -> str | None:
    """The account's Imports page, which lists the import with its errors; None without a portal id.

    HubSpot documents no address for one import's page, so the link opens the account's imports.
    """
    if not portal_id:
        return None
    return f"{app_base_url(api_base_url)}/import/{quote(str(portal_id), safe='')}"
