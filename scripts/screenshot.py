"""Take docs/screenshot.png: the demo back-office in headless Chromium.

Usage: .venv/bin/python scripts/screenshot.py  (builds a throw-away demo database)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    instance = tempfile.mkdtemp(prefix="tandem-shot-")
    env = dict(os.environ, TANDEM_INSTANCE_PATH=instance, REDIS_URL="")
    env.pop("DATABASE_URL", None)
    for args in (["db", "upgrade"], ["modules", "install", "--default"], ["demo", "load"]):
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    os.environ.update(TANDEM_INSTANCE_PATH=instance, REDIS_URL="")
    sys.path.insert(0, str(ROOT))
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from core.wsgi import TandemDispatcher

    server = make_server("127.0.0.1", 0, TandemDispatcher(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    target = sys.argv[1] if len(sys.argv) > 1 else "/crm/customers/"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=shutil.which("chromium") or
                                     "/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 760}, locale="zh-CN")
        page.goto(f"{url}/login")
        page.fill("input[name=username]", "manager")
        page.fill("input[name=password]", "tandem-demo")
        page.click("button[type=submit]")
        page.wait_for_url(f"{url}/")
        page.goto(url + target)
        page.screenshot(path=str(ROOT / "docs" / "screenshot.png"))
        browser.close()
    server.shutdown()
    shutil.rmtree(instance, ignore_errors=True)
    print("wrote docs/screenshot.png")


if __name__ == "__main__":
    main()
