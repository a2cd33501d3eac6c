"""Take docs/screenshot.png: the demo back-office in headless Chromium.

Usage: .venv/bin/python scripts/screenshot.py [PAGE] [--user LOGIN] [--output FILE]
(builds a throw-away demo database; PAGE defaults to /crm/customers/ as the manager).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# As tests/browser/conftest.py: no sandbox as root, and nothing that calls out to Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("page", nargs="?", default="/crm/customers/")
    parser.add_argument("--user", default="manager", help="a demo login")
    parser.add_argument("--output", default=str(ROOT / "docs" / "screenshot.png"))
    args = parser.parse_args()
    instance = tempfile.mkdtemp(prefix="tandem-shot-")
    env = dict(os.environ, TANDEM_INSTANCE_PATH=instance, REDIS_URL="")
    env.pop("DATABASE_URL", None)
    for command in (["db", "upgrade"], ["modules", "install", "--default"], ["demo", "load"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    os.environ.update(TANDEM_INSTANCE_PATH=instance, REDIS_URL="")
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server

    from core.wsgi import TandemDispatcher

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:
            pass

    server = make_server(
        "127.0.0.1", 0, TandemDispatcher(), threaded=True, request_handler=QuietHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=shutil.which("chromium") or "/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")
        page.goto(f"{url}/login")
        page.fill("input[name=username]", args.user)
        page.fill("input[name=password]", "tandem-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")
        page.goto(url + args.page)
        page.screenshot(path=args.output)
        browser.close()
    server.shutdown()
    shutil.rmtree(instance, ignore_errors=True)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
