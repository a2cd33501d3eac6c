"""Test data for crm: valid phones and tax ids, and customers created through the services."""

from __future__ import annotations

import itertools
from typing import Any

from stdnum.cn import uscc

from core.services import ServiceContext
from core.services import unit_of_work

_seq = itertools.count(1)


def mobile(n: int | None = None) -> str:
    """A distinct, valid mainland mobile number (normalised)."""
    return f"139{(n if n is not None else next(_seq)):08d}"


def tax_id(n: int | None = None) -> str:
    """A distinct USCC with a correct check digit (computed by python-stdnum)."""
    body = f"91110000{(n if n is not None else next(_seq)):09d}"
    return body + uscc.calc_check_digit(body)


def customer_data(**overrides: Any) -> dict[str, Any]:
    """Valid input for ``create_customer`` (an individual unless overridden)."""
    n = next(_seq)
    data: dict[str, Any] = {
        "customer_type": "individual",
        "customer_name": f"客户{n}",
        "phone": mobile(n),
        "customer_level": "normal",
    }
    if overrides.get("customer_type") == "enterprise":
        data.update(customer_name=f"企业{n}有限公司", phone=None, tax_id=tax_id(n))
    data.update(overrides)
    return data


def make_customer(owner: Any = None, **overrides: Any) -> Any:
    """Create and commit a customer owned by ``owner`` (a User; None = pool)."""
    from modules.crm.services.customers import create_customer

    ctx = ServiceContext.system("cli")
    data = customer_data(**overrides)
    if owner is None and "owner_id" not in data:
        data["status"] = "in_pool"
    elif owner is not None:
        data["owner_id"] = owner.id
    with unit_of_work(ctx):
        customer = create_customer(ctx, data)
    return customer


def ctx_for(user: Any, source: str = "web") -> ServiceContext:
    return ServiceContext(actor=user, source=source)


def make_people(make_user: Any) -> dict[str, Any]:
    """Team 一组 (``manager`` + sales ``a``, ``b``), team 二组 (sales ``c``), an ``admin``."""
    from core.extensions import db
    from core.security.models import Team

    manager = make_user("manager")
    with unit_of_work(ServiceContext.system()):
        t1 = Team(name="一组", manager_id=manager.id)
        t2 = Team(name="二组")
        db.session.add_all([t1, t2])
    return {
        "manager": manager,
        "a": make_user("sales", team=t1),
        "b": make_user("sales", team=t1),
        "c": make_user("sales", team=t2),
        "admin": make_user("admin"),
    }


def make_opportunity(customer: Any, owner: Any = None, **overrides: Any) -> Any:
    """Create and commit an opportunity (owned by ``owner``; None = unowned, announced)."""
    from modules.crm.services.opportunities import create_opportunity

    ctx = ServiceContext.system("cli")
    data = {"customer_id": customer.id, "product_name": "中央空调", "quantity": 10,
            "estimated_amount": "185000.00", "owner_id": owner.id if owner else None,
            "unowned": owner is None, **overrides}
    with unit_of_work(ctx):
        return create_opportunity(ctx, data)


def act(user: Any, fn: Any, *args: Any, source: str = "web", **kwargs: Any) -> Any:
    """Call the service ``fn`` as ``user`` in a unit of work of its own."""
    ctx = ctx_for(user, source)
    with unit_of_work(ctx):
        return fn(ctx, *args, **kwargs)


def handover_people(make_user: Any) -> dict[str, Any]:
    """Team 销售一组 managed by ``boss`` with ``leaving`` and ``taker``; ``boss2`` manages no
    team of theirs; ``root`` is an admin."""
    from core.extensions import db
    from core.security.models import Team

    team = Team(name="销售一组")
    db.session.add(team)
    db.session.commit()
    boss = make_user("manager", username="boss", team=team)
    team.manager_id = boss.id
    db.session.commit()
    return {
        "boss": boss,
        "boss2": make_user("manager", username="boss2"),
        "root": make_user("admin", username="root"),
        "leaving": make_user("sales", username="leaving", team=team),
        "taker": make_user("sales", username="taker", team=team),
    }


def api_callers(client: Any, people: dict[str, Any]) -> Any:
    """``callers("a").get(url)`` calls the API with a bearer token of ``people["a"]``."""
    from core.security.services import issue_token

    tokens: dict[str, str] = {}

    class Caller:
        def __init__(self, who: str) -> None:
            if who not in tokens:
                ctx = ServiceContext.system("cli")
                with unit_of_work(ctx):
                    tokens[who] = issue_token(ctx, people[who])
            self.headers = {"Authorization": f"Bearer {tokens[who]}"}

        def __getattr__(self, method: str) -> Any:
            return lambda url, **kw: getattr(client, method)(url, headers=self.headers, **kw)

    return Caller
