"""Child of figure 5: one keep-alive client GETting an import as fast as it can for a while.

Uses ``http.client`` (lighter than requests) so the client, not the emulator, is cheap. Prints the
number of answered requests.
"""

from __future__ import annotations

import http.client
import sys
import time
from urllib.parse import urlsplit


def main(url: str, token: str, seconds: float) -> None:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    answered = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        connection.request("GET", parts.path, headers=headers)
        response = connection.getresponse()
        response.read()
        if response.status == 200:
            answered += 1
    connection.close()
    print(answered)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
