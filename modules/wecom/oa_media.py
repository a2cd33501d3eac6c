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


def fetch_picture(url: str) -> bytes | None:
    """The picture's bytes, or None (a host not allowed, an error, too large). Up to
    ``TIMEOUT`` per read: call it from a job, never while WeChat waits for an answer."""
    if not allowed(url):
        log.warning("wecom: picture from a host not allowed: %s", urlsplit(url or "").hostname)
        return None
    try:
        with requests.get(url, timeout=TIMEOUT, stream=True, allow_redirects=False) as response:
            if response.status_code != 200:
                return None
            data = bytearray()
            for chunk in response.iter_content(64 * 1024):
                data.extend(chunk)
                if len(data) > MAX_BYTES:
                    return None
            return bytes(data)
    except requests.RequestException:
        log.exception("wecom: picture download failed")
        return None
