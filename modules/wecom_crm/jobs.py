"""Background work of the WeCom × CRM bridge (``ctx`` is passed in by the job runner)."""

from __future__ import annotations

from core.services import ServiceContext
from modules.wecom_crm import services


def poll_transfers(ctx: ServiceContext) -> int:
    """Periodic: refresh the status of handover transfers still waiting."""
    return services.poll_transfers(ctx)


def transfer_on_handover(customer_ids: list[int], from_user_id: int | None,
                         to_user_id: int, ctx: ServiceContext) -> int:
    return services.transfer_on_handover(ctx, customer_ids, from_user_id, to_user_id)
