"""`[core] hostname_callable` of the deployment: each component's own name, so job rows and task
instances tell the two triggerers and the two workers on this one host apart."""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    return os.environ.get("HUBSPOT_DEPLOY_COMPONENT") or socket.getfqdn()
