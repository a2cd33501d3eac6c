"""WeCom robot callback end to end (verify → decrypt → dispatch → DB → encrypted reply),
next to decrypt-only, on the same machine and run."""

from __future__ import annotations

import json
import time

from bench.common import installed_app
from bench.common import robot_callback
from bench.common import served_client
from bench.harness import Case
from bench.harness import measure
from bench.harness import report
from core.extensions import db
from core.services import ServiceContext
from core.services import unit_of_work
from modules.wecom.crypto import WeComCrypto
from modules.wecom.crypto import signature

TOKEN, KEY = "benchtoken", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"


def main(url: str, *, scale: float, repeat: int, instance: str) -> str:
    app = installed_app(url, instance, ["wecom"], WECOM_BOT_TOKEN=TOKEN, WECOM_BOT_AES_KEY=KEY,
                        WECOM_CORP_ID="ww_bench")
    from core.security.services import create_user

    with app.app_context():
        ctx = ServiceContext.system("cli")
        with unit_of_work(ctx):
            create_user(ctx, "li.sales", roles=["sales"], wecom_userid="li.sales")
        db.session.remove()
    crypto = WeComCrypto(TOKEN, KEY, "")
    client = served_client(app)
    counter = {"n": 0}

    def callback() -> None:
        counter["n"] += 1
        robot_callback(client, crypto, TOKEN, "li.sales", "@Tandem #帮助",
                       f"bench-{counter['n']}-{time.time()}")

    sample = crypto.encrypt(json.dumps({"msgid": "x", "text": {"content": "#帮助"}}))
    sig = signature(TOKEN, "1", "2", sample)

    def decrypt_only() -> None:
        crypto.check_signature(sig, "1", "2", sample)
        crypto.decrypt(sample)

    results = [measure(Case("robot callback end to end (#帮助, dedupe row, reply)", callback),
                       repeat=repeat, app=app),
               measure(Case("verify + decrypt only", decrypt_only), repeat=repeat, app=app)]
    return report(results, "wecom robot callback (PostgreSQL)")
