"""The container's health check: kambot answers /healthz (its database included) on its own port."""

import os
import sys
import urllib.request

port = os.environ.get("KAMBOT_PORT", "3978")
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
