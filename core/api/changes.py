"""The changes feed (``GET /api/v1/changes``) and webhook subscriptions
(``/api/v1/webhooks``): see :mod:`core.changes` and ``docs/api.md``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint
from pydantic import BaseModel
from pydantic import Field

from core.api.endpoint import API_PREFIX
from core.api.endpoint import route
from core.api.schemas import ApiIn
from core.api.schemas import ApiOut
from core.changes import DEFAULT_LIMIT
from core.changes import MAX_LIMIT
from core.changes import read_changes
from core.changes import webhooks
from core.security.access import AUTHENTICATED
from core.services import ServiceContext

bp = Blueprint("api_changes", __name__, url_prefix=API_PREFIX)
TAGS = ["changes"]


class ChangesQuery(BaseModel):
    since: str | None = Field(default=None, max_length=64,
                              description="上一页返回的 next_cursor；不填则从最早保留的变更开始")
    modules: str | None = Field(default=None, max_length=500,
                                description="逗号分隔的应用，如 crm,sales,service；不填为全部")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT,
                       description=f"本页最多扫描的变更数（1–{MAX_LIMIT}）")


class ChangeOut(ApiOut):
    cursor: str = Field(description="这一条之后的位置（可作 since）")
    module: str
    model: str = Field(description="表名，如 crm_customer")
    record_id: str
    action: str = Field(description="create、update 或 delete")
    at: datetime
    source: str = Field(description="web、api、bot、job、cli 或 system")
    actor_id: int | None
    changed: list[str] = Field(description="update 改动的字段")
    data: dict[str, Any] | None = Field(description="提交时的记录值；delete 为 null")


class ChangesMeta(ApiOut):
    next_cursor: str
    has_more: bool
    limit: int


class ChangesOut(ApiOut):
    data: list[ChangeOut]
    meta: ChangesMeta


@route(bp, "/changes", permission=AUTHENTICATED, response=ChangesOut, query=ChangesQuery,
       errors=("410",), tags=TAGS)
def list_changes(ctx: ServiceContext, query: ChangesQuery) -> dict[str, Any]:
    """Records created, updated or deleted after a cursor, in commit order.

    Only what the caller may see (the model's read permission and record rules); a
    deleted record's id only. Follow ``meta.next_cursor`` while ``meta.has_more``; keep the
    last one and ask again later. 410: the cursor is older than the retention period."""
    modules = query.modules.split(",") if query.modules else None
    return read_changes(ctx, query.since, modules, query.limit)


class WebhookIn(ApiIn):
    name: str = Field(max_length=100)
    url: str = Field(max_length=500, description="http:// 或 https:// 地址")
    secret: str | None = Field(default=None, max_length=200,
                               description="签名密钥（16–200 个字符）；不填则生成并只返回一次")
    modules: list[str] = Field(default_factory=list, max_length=50,
                               description="订阅的应用；空为全部")


class WebhookPatch(ApiIn):
    active: bool


class WebhookOut(ApiOut):
    id: int
    name: str
    url: str
    modules: list[str]
    active: bool
    created_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="签名密钥（只在创建时返回）")


class DeliveryOut(ApiOut):
    id: int
    event_id: int
    status: str = Field(description="pending、sending、sent 或 failed")
    attempts: int
    response_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    created_at: datetime
    sent_at: datetime | None


@route(bp, "/webhooks", permission=webhooks.PERMISSION, response=WebhookOut, many=True,
       tags=TAGS)
def list_webhooks(ctx: ServiceContext) -> list[Any]:
    """Webhook subscriptions."""
    return webhooks.list_subscriptions(ctx)


@route(bp, "/webhooks", methods=["POST"], permission=webhooks.PERMISSION, body=WebhookIn,
       response=WebhookCreatedOut, status=201, tags=TAGS)
def create_webhook(ctx: ServiceContext, body: WebhookIn) -> Any:
    """Subscribe a URL to the changes feed (events after now, signed with the secret)."""
    return webhooks.create_subscription(ctx, body.name, body.url, body.secret, body.modules)


@route(bp, "/webhooks/<int:webhook_id>", methods=["PATCH"], permission=webhooks.PERMISSION,
       body=WebhookPatch, response=WebhookOut, tags=TAGS)
def update_webhook(ctx: ServiceContext, webhook_id: int, body: WebhookPatch) -> Any:
    """Pause or resume a subscription."""
    return webhooks.set_active(ctx, webhook_id, body.active)


@route(bp, "/webhooks/<int:webhook_id>", methods=["DELETE"], permission=webhooks.PERMISSION,
       status=204, tags=TAGS)
def delete_webhook(ctx: ServiceContext, webhook_id: int) -> None:
    """Remove a subscription and its delivery log."""
    webhooks.delete_subscription(ctx, webhook_id)


@route(bp, "/webhooks/<int:webhook_id>/deliveries", permission=webhooks.PERMISSION,
       response=DeliveryOut, many=True, tags=TAGS)
def list_deliveries(ctx: ServiceContext, webhook_id: int) -> list[Any]:
    """A subscription's last 100 deliveries, newest first."""
    webhooks.get_subscription(ctx, webhook_id)
    return webhooks.recent_deliveries(ctx, webhook_id)
