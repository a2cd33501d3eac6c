"""``manage.py wecom simulate``: try the chat track without a real corp.

Starts the fake WeCom on loopback, points this Tandem at it (for this process only), and
sends what you type as an encrypted robot callback from a group chat, exactly as WeCom
would; prints the decrypted reply and what Tandem sent to "WeCom" meanwhile.
"""

from __future__ import annotations

import json
import secrets
import string

import click
from flask import current_app
from flask.cli import with_appcontext

from modules.wecom.crypto import WeComCrypto
from modules.wecom.fake import CallbackDriver
from modules.wecom.fake import FakeState
from modules.wecom.fake import FakeWeCom


def _aes_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))


def _poster(client):  # noqa: ANN001, ANN202
    def post(method, path, params, body, headers):  # noqa: ANN001, ANN202
        response = client.open(path, method=method, query_string=params, data=body,
                               headers=headers)
        return response.status_code, response.get_data(as_text=True)

    return post


def _show(driver: CallbackDriver, answer: tuple[int, str]) -> None:
    status, text = answer
    if status != 200 or not text:
        click.echo(f"[HTTP {status}] {text}")
        return
    reply = driver.decrypt_bot_reply(text)
    if reply.get("msgtype") == "stream":
        click.echo(reply["stream"]["content"])
    elif reply.get("msgtype") == "template_card":
        card = reply["template_card"]
        click.echo(f"[卡片] {card['main_title']['title']}")
        for item in card.get("horizontal_content_list", []):
            click.echo(f"  {item['keyname']}：{item['value']}")
        for button in card.get("button_list", []):
            click.echo(f"  [按钮 {button['text']}] key={button.get('key', button.get('url'))}")
    else:
        click.echo(json.dumps(reply, ensure_ascii=False, indent=2))


@click.command("simulate")
@click.option("--user", "userid", required=True, help="Sender's WeCom userid.")
@click.option("--chat", default="sim-group", help="Group chat id.")
@click.argument("text", nargs=-1)
@with_appcontext
def simulate(userid: str, chat: str, text: tuple[str, ...]) -> None:
    """Send TEXT (or type lines interactively) to Tandem through a fake WeCom."""
    token, key = secrets.token_hex(8), _aes_key()
    fake = FakeWeCom(FakeState(corp_id="ww_simulated", secret="simulated")).start()
    current_app.config.update(
        WECOM_CORP_ID="ww_simulated", WECOM_APP_SECRET="simulated", WECOM_AGENT_ID="1000002",
        WECOM_BOT_TOKEN=token, WECOM_BOT_AES_KEY=key, WECOM_API_BASE=fake.base_url,
    )
    driver = CallbackDriver(_poster(current_app.test_client()),
                            bot_crypto=WeComCrypto(token, key, ""))
    click.echo(f"模拟企业微信已启动（{fake.base_url}），以 {userid} 的身份在群 {chat} 中发言。")

    def send(line: str) -> None:
        payload = {"msgid": secrets.token_hex(8), "aibotid": "sim", "chatid": chat,
                   "chattype": "group", "from": {"userid": userid}, "msgtype": "text",
                   "text": {"content": f"@Tandem {line}"}}
        _show(driver, driver.bot_message(payload)[0])
        for call in fake.state.requests:
            click.echo(f"  → 发往企业微信：{call['path']}")
        fake.state.requests.clear()

    try:
        if text:
            send(" ".join(text))
            return
        click.echo("输入命令（如 #帮助），空行退出。")
        while True:
            line = click.prompt(">", default="", show_default=False)
            if not line.strip():
                break
            send(line)
    finally:
        fake.stop()


def register(cli: click.Group) -> None:
    group = click.Group("wecom", help="WeCom channel tools.")
    group.add_command(simulate)
    cli.add_command(group)
