"""The chat card of an opportunity (bot answers and the new-opportunity announcement)."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import pgettext

from core.bot import Card
from core.bot import CardButton
from modules.crm.models.opportunity import Opportunity

MODEL = "crm_opportunity"


def _url(opp: Opportunity) -> str:
    """Absolute link to the opportunity page (built without a request: bots and jobs)."""
    return f"{current_app.config['TANDEM_BASE_URL'].rstrip('/')}/crm/opportunities/{opp.id}"


def opportunity_card(opp: Opportunity, source: str | None = None) -> Card:
    """The opportunity's card, labelled in the current locale (the reader's: the bot runs a
    command in its sender's); ``source`` defaults to "商机"."""
    quote = opp.current_quote
    fields = [(pgettext("card", "客户"), opp.customer.customer_name), (_("编号"), opp.number),
              (_("状态"), _(opp.status_label)),
              (_("负责人"), opp.owner.name if opp.owner else _("待认领"))]
    if quote is not None:
        fields.append((_("当前报价"), f"¥{quote.amount:,.2f}"))
    buttons = [CardButton.link(pgettext("card", "查看"), _url(opp))]
    if opp.owner_id is None and opp.is_open:
        buttons.insert(0, CardButton.action(_("认领"), "crm.opportunity.claim", opp.id))
    return Card(title=f"{opp.product_name} × {opp.quantity}",
                source=source if source is not None else pgettext("card", "商机"),
                emphasis=(_("预计金额"), f"¥{opp.estimated_amount:,.2f}"), fields=fields,
                url=_url(opp), buttons=buttons, record=(MODEL, opp.id))
