"""Pictures customers send to the official account: an image message carries ``PicUrl``,
the picture on WeChat's image CDN. It is fetched only from the hosts of the setting
``wecom.oa_picture_hosts`` (no other address is ever requested: the URL comes from the
message), over HTTP(S), within a size and time limit."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import requests

from core.settings import get_setting

log = logging.getLogger(__name__)
MAX_BYTES = 10 * 1024 * 1024
TIMEOUT = (3, 10)


def _hosts() -> set[str]:
    value = get_setting("wecom.oa_picture_hosts") or []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = value.split(",")
    return {str(h).strip().lower() for h in value if str(h).strip()}


def allowed(url: str) -> bool:
    """Whether ``url`` may be fetched at all (HTTP(S), one of the allowed hosts); no request."""
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and (parts.hostname or "") in _hosts()


def download_picture(url: str) -> tuple[bytes | None, bool]:
    """``(bytes, False)``, or ``(None, transient)``: ``transient`` when a later try may get
    it (no connection, a timeout, WeChat's server busy: 5xx or 429), not when it never will
    (a host not allowed, the address gone or expired: 4xx, too large). Up to ``TIMEOUT``
    per read: call it from a job, never while WeChat waits for an answer."""
    if not allowed(url):
        log.warning("wecom: picture from a host not allowed: %s", urlsplit(url or "").hostname)
        return None, False
    try:
        with requests.get(url, timeout=TIMEOUT, stream=True, allow_redirects=False) as response:
            if response.status_code != 200:
                return None, response.status_code >= 500 or response.status_code == 429
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data.extend(chunk)
                if len(data) > MAX_BYTES:
                    return None, False
            return bytes(data), False
    except requests.RequestException:
        log.exception("wecom: picture download failed")
        return None, True
