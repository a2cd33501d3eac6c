"""Demo data: users and teams of the core, then each installed module's own (once)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from core import hooks
from core.extensions import db
from core.registry import installer
from core.registry.models import CoreModule
from core.security.models import Team
from core.security.models import User
from core.security.services import create_user
from core.services import ServiceContext
from core.services import unit_of_work

DEMO_PASSWORD = "tandem-demo"

DEMO_USERS = [
    # username, display name, roles, wecom userid, team
    ("admin", "系统管理员", ["admin"], "admin", None),
    ("manager", "王经理", ["manager"], "wang.manager", "销售一组"),
    ("sales1", "李销售", ["sales"], "li.sales", "销售一组"),
    ("sales2", "赵销售", ["sales"], "zhao.sales", "销售一组"),
    ("sales3", "孙销售", ["sales"], "sun.sales", "销售二组"),
    ("engineer1", "张工", ["engineer"], "zhang.eng", None),
    ("warehouse1", "刘仓管", ["warehouse"], "liu.wh", None),
]


def load_core_demo(ctx: ServiceContext) -> list[tuple[str, str]]:

    teams: dict[str, Team] = {}
    for name in ("销售一组", "销售二组"):
        team = db.session.scalar(select(Team).where(Team.name == name))
        if team is None:
            team = Team(name=name)
            db.session.add(team)
            db.session.flush()
        teams[name] = team
    created = []
    for username, display, roles, wecom, team in DEMO_USERS:
        if db.session.scalar(select(User.id).where(User.username == username)):
            continue
        create_user(
            ctx,
            username,
            roles=roles,
            password=DEMO_PASSWORD,
            display_name=display,
            wecom_userid=wecom,
            team=teams.get(team) if team else None,
        )
        created.append((username, display))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if manager is not None:
        teams["销售一组"].manager_id = manager.id
    db.session.flush()
    return created


def load_all(progress: Callable[[str], None] = lambda m: None) -> None:

    installer.ensure_core()
    ctx = ServiceContext.system("cli")
    with unit_of_work(ctx):
        load_core_demo(ctx)
    registry = hooks.registry()
    rows = {r.name: r for r in db.session.scalars(select(CoreModule))}
    for name in registry.installed:
        if rows.get(name) is not None and rows[name].demo:
            continue
        progress(f"演示数据：{name}")
        installer.load_demo(name, registry=registry, ctx=ctx)
    progress(f"演示账号（密码均为 {DEMO_PASSWORD}）：")
    for username, display, roles, _w, _t in DEMO_USERS:
        progress(f"  {username:<12} {display}（{'、'.join(roles)}）")
