"""Demo after-sales data: two more engineers (李工, 王工) beside the core's 张工, dispatch
profiles, SLA policies by priority and complaint level, and about forty tickets over the
last weeks in every state — reported through the real services at their own dates, claimed,
progressed, resolved, rated — some breaching now, some waiting to be claimed."""

from __future__ import annotations

import random
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select

from core.extensions import db
from core.security.models import User
from core.services import ServiceContext
from core.settings import set_setting
from modules.crm.models.customer import Customer
from modules.equipment.models import Equipment
from modules.service.models import Survey
from modules.service.models import Ticket
from modules.service.services import dispatch
from modules.service.services import ratings
from modules.service.services import sla
from modules.service.services import surveys
from modules.service.services import tickets as svc

ENGINEERS = [("engineer2", "李工", "li.eng", ["repair", "maintenance", "installation"],
              ["浦东", "闵行"]),
             ("engineer3", "王工", "wang.eng", ["repair", "complaint", "return", "inquiry"], [])]
POLICIES = [
    ("重大投诉", {"ticket_type": "complaint", "complaint_level": "major"}, 30, 240),
    ("严重投诉", {"ticket_type": "complaint", "complaint_level": "serious"}, 60, 480),
    ("一般投诉", {"ticket_type": "complaint"}, 120, 960),
    ("紧急", {"priority": "urgent"}, 30, 240),
    ("高优先级（维修）", {"priority": "high"}, 60, 480),
    ("普通", {"priority": "normal"}, 240, 1440),
]
PROBLEMS = [
    ("repair", "空调制冷效果差", "开机半小时室温仍在 28 度以上，出风口不凉。"),
    ("repair", "室外机噪音很大", "室外机运行时有明显金属撞击声，邻居投诉。"),
    ("repair", "空调漏水", "室内机下方滴水，墙面已经发潮。"),
    ("repair", "显示 E4 故障代码", "开机几分钟后停机，面板显示 E4。"),
    ("repair", "遥控器失灵", "换了电池仍无法开关机。"),
    ("maintenance", "季度保养", "按保养计划清洗滤网、检查冷媒压力。"),
    ("maintenance", "换季前检查", "夏季来临前全面检查，顺带清洗室外机。"),
    ("complaint", "安装师傅迟到两小时", "约定上午 9 点，实际 11 点才到，也没有提前通知。"),
    ("complaint", "维修后问题复发", "上周刚修好，今天又不制冷了。"),
    ("installation", "新增一台挂机安装", "2 楼会议室新增一台 1.5 匹挂机。"),
    ("return", "多发一台室内机需退回", "到货数量比订单多一台。"),
    ("inquiry", "保修期咨询", "想确认压缩机是否还在保修期内。"),
]
NOTES = ["已电话联系客户，约定上门时间", "现场检查中", "已拆机，发现滤网严重堵塞",
         "等待配件到货", "更换配件后试机"]
SOLUTIONS = [("滤网堵塞导致风量不足", "清洗滤网并补充冷媒"),
             ("排水管弯折", "重新固定排水管，测试排水正常"),
             ("风机轴承磨损", "更换风机轴承"),
             ("控制板受潮", "更换控制板并做防潮处理")]
COMMENTS = {5: "师傅很专业，处理很快", 4: "总体满意", 3: "还可以，就是等得有点久",
            2: "问题没有完全解决", 1: "非常不满意"}


def _engineers(ctx: ServiceContext) -> list[User]:
    from core.demo import DEMO_PASSWORD
    from core.security.services import create_user

    users = []
    core_engineer = db.session.scalar(select(User).where(User.username == "engineer1"))
    if core_engineer is not None:
        dispatch.save_engineer(ctx, core_engineer.id, {"skills": [], "areas": []})
        users.append(core_engineer)
    for username, display, wecom, skills, areas in ENGINEERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = create_user(ctx, username, roles=["engineer"], password=DEMO_PASSWORD,
                               display_name=display, wecom_userid=wecom)
        dispatch.save_engineer(ctx, user.id, {"skills": skills, "areas": areas})
        users.append(user)
    return users


def _at(ctx: ServiceContext, moment: datetime, actor: Any = None) -> ServiceContext:
    return ServiceContext(actor=actor, source=ctx.source if actor is None else "web",
                          now=moment, extra={"demo": True})


def load(ctx: Any) -> None:
    """Create the demo tickets once (skipped when tickets exist)."""
    if db.session.scalar(select(func.count()).select_from(Ticket)):
        return
    rng = random.Random(20241108)
    engineers = _engineers(ctx)
    for name, where, response, resolution in POLICIES:
        sla.save_policy(ctx, {"name": name, **where, "response_minutes": response,
                              "resolution_minutes": resolution})
    set_setting("service.group_chat_id", "service-group")
    from core.bot.purposes import set_chat_purpose

    set_chat_purpose(ctx, "service-group", "service")  # #认领 there means a ticket
    customers = list(db.session.scalars(select(Customer).order_by(Customer.id).limit(30)))
    if not customers or not engineers:
        return
    units = {u.customer_id: u for u in db.session.scalars(select(Equipment).order_by(Equipment.id))}
    now = ctx.now
    for n in range(40):
        kind, subject, text = PROBLEMS[n % len(PROBLEMS)]
        customer = customers[rng.randrange(len(customers))]
        unit = units.get(customer.id) if kind in ("repair", "maintenance") else None
        if kind in ("repair", "maintenance") and unit is None and units:
            unit = list(units.values())[n % len(units)]
            customer = db.session.get(Customer, unit.customer_id)
        days_ago = 40 - n if n < 36 else 0
        reported = now - timedelta(days=days_ago, hours=rng.randrange(1, 8))
        data = {"customer_id": customer.id, "ticket_type": kind, "subject": subject,
                "description": text, "channel": rng.choice(["web", "bot", "api", "customer"])}
        if unit is not None:
            data["equipment_id"] = unit.id
        if kind == "complaint":
            data["complaint_level"] = rng.choice(["general", "general", "serious", "major"])
        c = _at(ctx, reported)
        ticket = svc.create_ticket(c, data, dispatch=False)
        if n >= 36:  # the newest wait for a claim in the service group
            continue
        engineer = engineers[n % len(engineers)]
        step = reported + timedelta(minutes=rng.randrange(10, 90))
        svc.claim_ticket(_at(ctx, step, engineer), ticket.id)
        if n >= 32:  # accepted, not started
            continue
        step += timedelta(hours=rng.randrange(1, 6))
        svc.update_progress(_at(ctx, step, engineer), ticket.id, rng.choice([30, 50, 60]),
                            rng.choice(NOTES))
        if n >= 26:  # still in service (some of them breach their SLA now)
            continue
        cause, fix = SOLUTIONS[n % len(SOLUTIONS)]
        step += timedelta(hours=rng.randrange(1, 20))
        svc.resolve_ticket(_at(ctx, step, engineer), ticket.id, {
            "root_cause": cause, "solution": fix, "service_hours": str(rng.choice([1, 1.5, 2, 3])),
            "fee_visit": "80" if ticket.warranty_status != "in_warranty" else "0",
            "fee_labour": str(rng.choice([0, 120, 200])),
            "parts_used": rng.choice([None, "过滤网×1", "排水泵×1", "传感器×1"])})
        if n >= 22:  # waiting for the customer's rating
            continue
        score = rng.choice([5, 5, 5, 4, 4, 3, 2])
        _rate(ctx, ticket, step + timedelta(hours=rng.randrange(2, 30)), score)
    sla.refresh(ctx)


def _rate(ctx: ServiceContext, ticket: Ticket, when: datetime, score: int) -> None:
    """Answer the survey as the customer would (the demo knows no token: it sets one)."""
    import secrets

    survey = db.session.scalar(select(Survey).where(Survey.ticket_id == ticket.id))
    if survey is None:
        return
    token = secrets.token_urlsafe(16)
    survey.token_hash = surveys._hash(token)
    db.session.flush()
    ratings.answer_survey(_at(ctx, when), token, score, COMMENTS[score])
