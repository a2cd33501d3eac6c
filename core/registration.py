"""Frozen objects that modules return from registration hooks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from typing import Any


@dataclass(frozen=True, slots=True)
class Permission:
    """A permission code ``<module>.<object>.<verb>`` and the roles granted it by default."""

    code: str
    label: str
    default_roles: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Role:
    """A role a module adds next to the core ones (admin, manager, sales, engineer, warehouse)."""

    code: str
    label: str


@dataclass(frozen=True, slots=True)
class RecordRule:
    """Row-level access: for users holding one of ``roles``, rows of ``model`` are limited to
    ``domain(user)`` (a SQL expression). Rules of a user's roles are OR-ed; admins bypass.
    A user's domains are kept while the auth epoch is unchanged: ``domain`` may read the user
    and what the epoch covers (users, roles, grants, teams), not other rows or the time
    (a condition on other rows belongs in the expression, as a sub-select: inside an ``OR``
    write it ``core.db.in_select(column, select)``, which PostgreSQL can look up in an index)."""

    name: str
    model: type
    roles: tuple[str, ...]
    domain: Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class MenuItem:
    """An entry of the back-office menu; hidden when the user lacks ``permission``."""

    id: str
    label: str
    endpoint: str | None = None
    parent: str | None = None
    sequence: int = 100
    permission: str | None = None
    icon: str | None = None


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A background job, run by name; ``schedule`` is a cron expression for periodic jobs."""

    name: str
    func: str  # "package.module:function"
    schedule: str | None = None
    queue: str = "default"
    description: str = ""
    timeout: int = 600


@dataclass(frozen=True, slots=True)
class Setting:
    """A configurable value shown on the settings page; ``secret`` values are masked."""

    key: str
    label: str
    type: str = "str"  # str, int, bool, decimal, json
    default: Any = None
    secret: bool = False
    help: str = ""
    env: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerSection:
    """A block of the customer 360° view contributed by a module.

    ``render(customer, ctx)`` returns HTML-safe markup (a rendered template)."""

    id: str
    title: str
    render: Callable[[Any, Any], str]
    sequence: int = 100
    permission: str | None = None


@dataclass(frozen=True, slots=True)
class BotCommand:
    """A chat command (``#认领``); see :mod:`core.bot` for the handler contract.

    ``trigger`` and ``aliases`` may be written with or without ``#`` (``"跟进"`` =
    ``"#跟进"``). ``handler(ctx, call)`` gets a ``ServiceContext`` (source ``bot``, inside
    a unit of work) and a :class:`core.bot.CommandCall`, and returns a reply, a card, a
    string or ``None``. ``usage`` is shown in help, e.g. ``"#跟进 [OPP-编号] 内容"``.

    ``model`` (table name) and ``reference`` (prefix such as ``"OPP-"``) name the record
    the command acts on: they are the defaults of ``call.resolve()``, and they let two
    modules share a trigger (``#认领`` an opportunity or a ticket): the dispatcher picks the
    one whose reference is in the text, else the one of the chat's ``purpose`` (the chat
    registry), else the one of the chat's last card.
    """

    trigger: str
    handler: Callable[..., Any]
    permission: str | None = None
    help: str = ""
    usage: str = ""
    aliases: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)
    model: str | None = None
    reference: str | None = None
    # What kind of chat the command belongs to ("sales", "service" …): a shared trigger
    # means this command in a chat given that purpose (core.bot.purposes).
    purpose: str | None = None


@dataclass(frozen=True, slots=True)
class CardAction:
    """What a card button does when clicked (see :mod:`core.bot`).

    A click whose key is ``key`` or ``key + ":" + arg`` calls ``handler(ctx, click)`` with a
    :class:`core.bot.CardClick`; ``key`` is ``<module>.<object>.<verb>``, like permissions.
    """

    key: str
    handler: Callable[..., Any]
    permission: str | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Kpi:
    """One figure of a workspace card: ``value`` already formatted, ``url`` the filtered list."""

    label: str
    value: str
    url: str | None = None
    hint: str = ""  # e.g. the period: "本月"


@dataclass(frozen=True, slots=True)
class TodoItem:
    """One line of a workspace to-do list, linking to the record."""

    title: str
    url: str | None = None
    detail: str = ""
    badge: str = ""  # short status text, e.g. "今天到期"


@dataclass(frozen=True, slots=True)
class CardContent:
    """What a workspace card shows; every part is optional.

    ``total`` counts all to-do items (``items`` may show only the first few), ``more_url``
    opens the filtered list behind them; ``actions`` are quick actions ``(label, url)``;
    ``total_label`` is shown instead of ``total`` when set (a capped count: "10,000+")."""

    kpis: tuple[Kpi, ...] = ()
    items: tuple[TodoItem, ...] = ()
    total: int | None = None
    total_label: str = ""
    more_url: str | None = None
    actions: tuple[tuple[str, str], ...] = ()
    empty_text: str = ""


@dataclass(frozen=True, slots=True)
class WorkspaceCard:
    """A card of the home workspace (工作台) contributed by a module.

    ``compute(ctx)`` returns a :class:`CardContent` (or ``None`` to hide the card) and must
    respect record rules (read through ``ctx.scoped``). The card is shown to users holding
    ``permission`` (any user when ``None``); ``kind`` is ``"kpi"``, ``"todo"`` or
    ``"actions"`` and only decides where on the page it goes."""

    id: str
    title: str
    compute: Callable[[Any], CardContent | None]
    kind: str = "todo"
    permission: str | None = None
    sequence: int = 100


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One result of the global search."""

    title: str
    url: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Searcher:
    """A kind of record the navbar's global search finds (customers, orders, tickets …).

    ``search(ctx, term, limit)`` returns at most ``limit`` :class:`SearchHit` rows, read
    through ``ctx.scoped`` so record rules decide what is found; ``label`` names the group
    of results (e.g. "客户"). Shown to users holding ``permission``."""

    id: str
    label: str
    search: Callable[[Any, str, int], list[SearchHit]]
    permission: str | None = None
    sequence: int = 100


@dataclass(frozen=True, slots=True)
class Figure:
    """One figure of the business overview (驾驶舱): ``value`` (a number, for comparisons
    and tests), ``text`` as shown, ``url`` the filtered list that makes it, the previous
    period's ``previous`` / ``previous_text`` when the figure compares periods, and
    ``parts`` a breakdown (e.g. open tickets by status), each a :class:`Kpi` with its link."""

    value: Any
    text: str
    url: str | None = None
    previous: Any = None
    previous_text: str = ""
    hint: str = ""
    parts: tuple[Kpi, ...] = ()
    higher_is_better: bool = True


@dataclass(frozen=True, slots=True)
class DashboardFigure:
    """A figure of the business overview contributed by a module.

    ``compute(ctx, period)`` gets the user's ``ServiceContext`` and a
    :class:`core.periods.Period` and returns a :class:`Figure` (``None`` hides it); it reads
    through the module's own scoped selects (``ctx.scoped``), so each user sees his own
    figures. Shown to users holding ``permission`` (any user when ``None``), grouped by
    ``group`` (a title such as "销售"), ordered by ``sequence``."""

    id: str
    label: str
    compute: Callable[[Any, Any], Figure | None]
    permission: str | None = None
    group: str = ""
    sequence: int = 100
