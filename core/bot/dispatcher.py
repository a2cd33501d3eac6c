"""The transport-free bot dispatcher: chat text or a card click in, one reply out.

:func:`dispatch` maps the sender's WeCom userid to an active user, finds the command,
checks its permission and runs its handler in a unit of work with source ``bot``: its own
transaction when called alone (CLI, tests), a savepoint inside the transaction of the edge
that called it (a WeCom callback, a job), so that a refused or failed command leaves the
edge's rows (callback log, dedupe key) in place.
:func:`dispatch_card_action` does the same for card button clicks. Neither ever raises:
a :class:`core.errors.TandemError` becomes its message, anything else a logged apology.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from typing import Any
from typing import TypeVar

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_
from sqlalchemy import select

from core import hooks
from core.bot import choice
from core.bot.context import RecordRef
from core.bot.context import last_record
from core.bot.context import record_for_task
from core.bot.context import remember_card
from core.bot.messages import CardReply
from core.bot.messages import IncomingMessage
from core.bot.messages import Reply
from core.bot.messages import TextReply
from core.bot.messages import as_reply
from core.bot.parser import Reference
from core.bot.parser import normalize_trigger
from core.bot.parser import parse_reference
from core.bot.parser import parse_text
from core.bot.parser import remove_span
from core.errors import NotFoundError
from core.errors import TandemError
from core.errors import UserError
from core.extensions import db
from core.i18n import default_locale
from core.i18n import locale_of
from core.security.models import User
from core.security.principal import attached
from core.security.principal import cached
from core.security.principal import current_epoch
from core.security.principal import snapshot
from core.services import ServiceContext
from core.services import in_unit_of_work
from core.services import unit_of_work
from core.util import optional_import

if TYPE_CHECKING:
    from core.registration import BotCommand
    from core.registration import CardAction
    from core.security.models import User

log = logging.getLogger(__name__)
T = TypeVar("T")


# --------------------------------------------------------------------------- handler input
@dataclass
class Mention:
    """``@名字`` in a command, resolved by WeCom userid, then display name (active users)."""

    name: str
    user: User | None = None
    ambiguous: bool = False


@dataclass
class CommandCall:
    """What a command handler receives next to its ``ctx``.

    ``trigger`` is normalised (``跟进``), ``args`` the raw argument text (Chinese
    punctuation kept: store it as the content), ``argv`` its NFKC tokens (``["185000"]``),
    ``mentions`` the resolved ``@`` mentions, ``sender`` the acting user (= ``ctx.actor``).
    """

    command: BotCommand
    trigger: str
    args: str
    argv: list[str]
    mentions: list[Mention]
    message: IncomingMessage
    sender: User
    chosen: str | None = None  # the record picked from a numbered list ("1")

    @property
    def chat_id(self) -> str | None:
        """The chat (``single:<userid>`` for a single chat) whose cards give context."""
        return self.message.context_id

    def mentioned_users(self) -> list[User]:
        """Every mentioned user; raises :class:`UserError` for unknown or ambiguous names."""
        for m in self.mentions:
            if m.ambiguous:
                raise UserError(_("有多位同事叫“%(name)s”，请改用企业微信账号 @ 他。", name=m.name))
            if m.user is None:
                raise UserError(
                    _("找不到同事“%(name)s”，请确认其已绑定 Tandem 账号。", name=m.name)
                )
        return [m.user for m in self.mentions if m.user is not None]

    def mentioned_user(self) -> User:
        """Exactly one mentioned user (``#转派 @李工``), else a :class:`UserError`."""
        users = self.mentioned_users()
        if len(users) != 1:
            usage = self.command.usage or f"#{self.trigger} @同事"
            raise UserError(_("请 @ 一位同事，例如：%(usage)s", usage=usage))
        return users[0]

    def _prefix(self, prefix: str | None) -> str:
        prefix = prefix or self.command.reference
        if not prefix:
            raise ValueError(f"bot command {self.trigger}: no reference prefix declared")
        return prefix

    def reference(self, prefix: str | None = None, pattern: str | None = None) -> Reference | None:
        """The first ``<prefix><value>`` reference in the arguments (``OPP-1023``);
        ``prefix`` defaults to the command's ``reference``."""
        return self.split_reference(prefix, pattern)[0]

    def split_reference(
        self, prefix: str | None = None, pattern: str | None = None
    ) -> tuple[Reference | None, str]:
        """``"OPP-1023 已发方案，客户考虑中"`` → ``(Reference(OPP-, 1023), "已发方案，…")``;
        without a reference: ``(None, args)``."""
        ref = parse_reference(self.args, self._prefix(prefix), *([pattern] if pattern else []))
        if ref is None:
            return None, self.args
        return ref, remove_span(self.args, ref.span)

    def context_record(self, model: str | None = None, example: str = "") -> RecordRef:
        """The record of the last ``model`` card (default: the command's ``model``) the
        bot posted in this chat, else a :class:`UserError` asking for a reference."""
        model = model or self.command.model
        if not model:
            raise ValueError(f"bot command {self.trigger}: no model declared")
        ref = last_record(self.chat_id, model)
        if ref is None:
            example = example or f"{self.command.reference or 'OPP-'}1023"
            raise UserError(
                _(
                    "请写明要操作的记录（例如 %(example)s），或在机器人发出的卡片之后再发送命令。",
                    example=example,
                )
            )
        return ref

    def resolve(
        self,
        lookup: Callable[[str], T],
        *,
        by_id: Callable[[str], T] | None = None,
        prefix: str | None = None,
        model: str | None = None,
        pattern: str | None = None,
        usable: Callable[[T], bool] | None = None,
        candidates: Callable[[], Sequence[tuple[Any, str]]] | None = None,
        empty: str = "",
    ) -> tuple[T, str]:
        """The target record and the remaining text, for ``#跟进 [OPP-1023] 内容``.

        With an explicit reference, ``lookup(ref.value)`` (``"1023"``); otherwise the last
        ``model`` card in the chat, ``by_id(record_id)`` (default ``lookup``). ``prefix``
        and ``model`` default to the command's ``reference`` and ``model``. Lookups should
        apply record rules (``ctx.scoped``) and raise ``NotFoundError``.

        With ``candidates`` (``[(record_id, label), …]``, the sender's records this command
        fits, newest first) the last card counts only when its record is found and
        ``usable(record)``; otherwise the sender gets the candidates numbered (``empty``
        when there are none) and answers with the number: ``1`` or ``#跟进 1``.
        """
        prefix = self._prefix(prefix)
        model = model or self.command.model
        ref, rest = self.split_reference(prefix, pattern)
        if ref is not None:
            return lookup(ref.value), rest
        find = by_id or lookup
        if self.chosen is not None:
            return find(self.chosen), rest
        if candidates is None:
            record = self.context_record(model, example=f"{prefix}1023")
            return find(record.record_id), rest
        picked = self._picked(rest, model)
        if picked is not None:
            record_id, rest = picked
            return find(record_id), rest
        last = last_record(self.chat_id, model)
        if last is not None:
            try:
                target = find(last.record_id)
            except NotFoundError:
                target = None
            if target is not None and (usable is None or usable(target)):
                return target, rest
        raise choice.ChoiceNeeded(self.trigger, model or "", candidates(), rest, empty,
                                  example=f"#{self.trigger} {prefix}1023")

    def _picked(self, rest: str, model: str | None) -> tuple[str, str] | None:
        """``#跟进 1 …`` after a numbered list: the chosen record id and the text (the
        text typed with the first command when none follows the number)."""
        waiting = choice.pending(self.sender.id, self.chat_id)
        if waiting is None or waiting.trigger != self.trigger or waiting.model != (model or ""):
            return None
        token, _sep, tail = rest.strip().partition(" ")
        record_id = waiting.pick(token)
        if record_id is None:
            return None
        choice.forget(self.sender.id, self.chat_id)
        return record_id, tail.strip() or waiting.rest


@dataclass
class CardClick:
    """What a card action handler receives next to its ``ctx``.

    ``key`` is the full event key (``crm.opportunity.claim:1023``), ``arg`` the part after
    ``:`` (``"1023"``) or ``None``, ``record`` the record of the card with ``task_id`` when
    the bot remembered it.
    """

    action: CardAction
    key: str
    arg: str | None
    task_id: str | None
    chat_id: str | None
    sender: User
    record: RecordRef | None = None

    def record_id(self) -> str:
        """``arg`` or the remembered card's record id; else a :class:`UserError`."""
        if self.arg:
            return self.arg
        if self.record is not None:
            return self.record.record_id
        raise UserError(_("这张卡片已失效，请在系统中操作。"))


# ------------------------------------------------------------------------------ identity
def find_user(userid: str) -> User | None:
    """The user bound to WeCom ``userid`` (active or not), with his roles. In an HTTP request
    (a callback) kept while the auth epoch is unchanged, as a page's user is
    (``core.security.principal``): binding a WeCom account writes the user and moves it."""
    if not userid:
        return None

    def read() -> User | None:
        return db.session.scalar(select(User).where(User.wecom_userid == userid))

    if current_epoch() is None:
        return read()
    kept = cached(("wecom_user", userid), lambda: snapshot(read(), "roles"))
    return attached(kept) if kept is not None else None


def resolve_mentions(names: Sequence[str], userids: Sequence[str] = ()) -> list[Mention]:
    """Mentions by name (WeCom userid first, then display name) plus transport userids."""

    wanted = list(dict.fromkeys([*userids, *names]))
    if not wanted:
        return []
    users = db.session.scalars(
        select(User).where(
            User.active.is_(True),
            or_(User.wecom_userid.in_(wanted), User.display_name.in_(wanted)),
        )
    ).all()
    out = []
    for name in wanted:
        by_id = [u for u in users if u.wecom_userid == name]
        by_name = [u for u in users if u.display_name == name]
        matches = by_id or ([] if name in userids else by_name)
        out.append(Mention(name, matches[0] if len(matches) == 1 else None, len(matches) > 1))
    unique: dict[Any, Mention] = {}
    for m in out:
        unique.setdefault(m.user.id if m.user is not None else ("?", m.name), m)
    return list(unique.values())


def _notify_unbound(userid: str) -> bool:
    """Tell admins (in-app) that ``userid`` needs binding, when ``core.notify`` exists.

    ``core.notify.notify_admins`` is called with those of ``ctx, title, body, message,
    text, category, kind, dedupe_key`` its signature names, in its own unit of work; the
    texts are functions, so that each admin reads them in his language.
    """
    notify = optional_import("core.notify")
    fn = getattr(notify, "notify_admins", None) if notify is not None else None
    if fn is None:
        return False

    def title() -> str:  # written in each admin's language
        return _("企业微信账号待绑定")

    def body() -> str:
        return _(
            "企业微信用户 %(userid)s 向机器人发送了消息，但尚未绑定 Tandem 用户。"
            "请在用户管理中为其填写企业微信账号。",
            userid=userid,
        )

    ctx = ServiceContext.system("bot")
    offered = {
        "ctx": ctx,
        "title": title,
        "body": body,
        "message": body,
        "text": body,
        "category": "bot",
        "kind": "bot.unbound_user",
        "dedupe_key": f"bot.unbound:{userid}",
    }
    params = inspect.signature(fn).parameters
    kwargs = {k: v for k, v in offered.items() if k in params}
    try:
        with unit_of_work(ctx):
            fn(**kwargs)
    except Exception:
        log.exception("bot: could not notify admins about unbound WeCom user %s", userid)
        return False
    return True


def _actor_context(userid: str, chat_id: str | None) -> ServiceContext | Reply:
    user = find_user(userid)
    if user is None:
        refusal = _("您好！您的企业微信账号尚未绑定 Tandem 用户，暂时无法使用机器人。")
        if userid and _notify_unbound(userid):
            return TextReply(refusal + _("已通知管理员为您绑定，请稍后再试。"))
        return TextReply(refusal + _("请联系管理员为您绑定。"))
    if not user.active:
        return TextReply(_("您的 Tandem 账号已停用，无法使用机器人。"))
    return ServiceContext(
        actor=user, source="bot", chat_id=chat_id, locale=locale_of(user)
    )


# ------------------------------------------------------------------------------ commands
def available_commands(ctx: ServiceContext) -> list[BotCommand]:
    """Commands ``ctx.actor`` may use, once each, in registration order."""
    seen: dict[int, BotCommand] = {}
    for key, first in hooks.registry().bot_commands.items():
        for cmd in _variants(key, first):
            if id(cmd) not in seen and (cmd.permission is None or ctx.can(cmd.permission)):
                seen[id(cmd)] = cmd
    return list(seen.values())


def _variants(key: str, first: BotCommand) -> list[BotCommand]:
    return hooks.registry().bot_command_variants.get(key) or [first]


def _pick(
    ctx: ServiceContext, key: str, first: BotCommand, args: str, chat_id: str | None
) -> BotCommand:
    """The command a shared trigger means here: the one whose reference is in the text,
    else the one of the chat's configured purpose, else the one of the chat's last card,
    else the only one the user may use."""
    from core.bot.purposes import chat_purpose

    variants = _variants(key, first)
    if len(variants) == 1:
        return variants[0]
    for cmd in variants:
        if cmd.reference and parse_reference(args, cmd.reference):
            return cmd
    purpose = chat_purpose(chat_id)
    meant = [cmd for cmd in variants if purpose and cmd.purpose == purpose]
    if len(meant) == 1:
        return meant[0]
    last = last_record(chat_id)
    for cmd in variants:
        if last is not None and cmd.model == last.model:
            return cmd
    allowed = [c for c in variants if c.permission is None or ctx.can(c.permission)]
    if len(allowed) == 1:
        return allowed[0]
    examples = _("、").join(f"{c.reference}1023" for c in variants if c.reference)
    raise UserError(
        _(
            "“#%(trigger)s”可用于多种记录，请写明编号（例如 %(examples)s）。",
            trigger=key,
            examples=examples,
        )
    )


def _usage(cmd: BotCommand) -> str:
    return cmd.usage or f"#{normalize_trigger(cmd.trigger)}"


def help_text(ctx: ServiceContext, topic: str | None = None) -> str:
    """The help: one command's usage when ``topic`` names one, else the user's commands."""
    key = normalize_trigger(topic or "")
    first = hooks.registry().bot_commands.get(key) if key else None
    if first is not None:
        lines = []
        for cmd in _variants(key, first):
            lines.append(f"{_usage(cmd)}　{cmd.help}".rstrip("　"))
            if cmd.aliases:
                aliases = _("、").join(f"#{normalize_trigger(a)}" for a in cmd.aliases)
                lines.append(_("也可以写作：") + aliases)
            if cmd.permission and not ctx.can(cmd.permission):
                lines.append(_("（您没有使用此命令的权限）"))
        return "\n".join(lines)
    lines = [_("可用命令：")]
    for cmd in available_commands(ctx):
        lines.append(f"{_usage(cmd)}　{cmd.help}".rstrip("　"))
    lines.append(_("发送“#帮助 命令”查看某条命令的用法。"))
    return "\n".join(lines)


def help_command(ctx: ServiceContext, call: CommandCall) -> Reply:
    """The built-in ``#帮助 [命令]``."""
    return TextReply(help_text(ctx, call.argv[0] if call.argv else None))


def dispatch(message: IncomingMessage, ctx: ServiceContext | None = None) -> Reply:
    """Run one chat message and return the reply; never raises.

    Without ``ctx`` the sender is looked up by ``message.sender_userid``; with ``ctx`` (the
    CLI, tests) that context acts. Unknown commands and plain text answer with help.
    """
    return _guarded(
        message.sender_userid,
        message.context_id,
        ctx,
        lambda c: _dispatch(c, message),
        repr(message.text),
    )


def _guarded(
    userid: str,
    chat_id: str | None,
    ctx: ServiceContext | None,
    run: Callable[[ServiceContext], Reply],
    what: str,
) -> Reply:
    """Identity, locale and the never-raise rule shared by messages and clicks."""
    with force_locale(default_locale()):
        try:
            if ctx is None:
                found = _actor_context(userid, chat_id)
                if not isinstance(found, ServiceContext):
                    return found
                ctx = found
            with force_locale(ctx.locale or default_locale()):
                return run(ctx)
        except Exception:
            log.exception("bot: error while handling %s from %s", what, userid)
            if not in_unit_of_work():  # inside an edge's unit its savepoint rolled back
                db.session.rollback()
            return TextReply(_("抱歉，处理您的消息时出错了，请稍后再试或联系管理员。"))


def _dispatch(ctx: ServiceContext, message: IncomingMessage) -> Reply:
    parsed = parse_text(message.text)
    commands = hooks.registry().bot_commands
    command = commands.get(parsed.trigger) if parsed is not None else None
    chosen: str | None = None
    if command is None and parsed is not None and not parsed.args:
        command, chosen, rest = _answer_to_list(ctx, parsed.trigger, message.context_id)
        if command is not None:
            parsed.trigger = normalize_trigger(command.trigger)
            parsed.args = rest
            parsed.argv = parse_text(f"#x {parsed.args}").argv if parsed.args else []
    if command is None:
        if parsed is not None and parsed.explicit:
            intro = _("没有“#%(trigger)s”这个命令。", trigger=parsed.trigger)
        else:
            intro = _("您好，我是 Tandem 机器人，请发送以 # 开头的命令。")
        return TextReply(intro + "\n" + help_text(ctx))
    try:
        if chosen is None:
            command = _pick(ctx, parsed.trigger, command, parsed.args, message.context_id)
        if command.permission:
            ctx.require(command.permission)
        with unit_of_work(ctx):
            call = CommandCall(
                command=command,
                trigger=parsed.trigger,
                args=parsed.args,
                argv=parsed.argv,
                mentions=resolve_mentions(parsed.mention_names, message.mentions),
                message=message,
                sender=ctx.actor,
                chosen=chosen,
            )
            if chosen is not None:
                choice.forget(ctx.actor.id, message.context_id)
            reply = as_reply(command.handler(ctx, call))
            if isinstance(reply, CardReply):
                remember_card(message.context_id, reply.card)
        return reply
    except choice.ChoiceNeeded as needed:
        with unit_of_work(ctx):  # the command rolled back; the list is kept on its own
            choice.keep(ctx.actor.id, message.context_id, needed)
        return TextReply(needed.message)
    except TandemError as exc:
        return TextReply(exc.message)


def _answer_to_list(
    ctx: ServiceContext, text: str, chat_id: str | None
) -> tuple[BotCommand | None, str | None, str]:
    """A message that is only a number answers the sender's numbered list in the chat:
    the command it was about, the chosen record id and the text typed with the first
    command, else ``(None, None, "")``."""
    waiting = choice.pending(ctx.actor.id, chat_id)
    record_id = waiting.pick(text) if waiting is not None else None
    if waiting is None or record_id is None:
        return None, None, ""
    key = normalize_trigger(waiting.trigger)
    first = hooks.registry().bot_commands.get(key)
    if first is None:
        return None, None, ""
    for cmd in _variants(key, first):
        if (cmd.model or "") == waiting.model:
            return cmd, record_id, waiting.rest or ""
    return None, None, ""


# ---------------------------------------------------------------------------- card clicks
def dispatch_card_action(
    userid: str,
    event_key: str,
    task_id: str | None = None,
    chat_id: str | None = None,
    ctx: ServiceContext | None = None,
) -> Reply:
    """Run a card button click (``EventKey``/``event_key``) and return the reply, typically
    the updated card (a :class:`CardReply`) for ``update_template_card``; never raises.

    ``chat_id`` (``single:<userid>`` for a single chat) makes the returned card the chat's
    context; ``task_id`` finds the clicked card's record when the key carries no id.
    """
    return _guarded(
        userid,
        chat_id,
        ctx,
        lambda c: _dispatch_click(c, event_key, task_id, chat_id),
        f"card click {event_key!r}",
    )


def _dispatch_click(
    ctx: ServiceContext, event_key: str, task_id: str | None, chat_id: str | None
) -> Reply:
    key, _sep, arg = (event_key or "").partition(":")
    action = hooks.registry().card_actions.get(key)
    if action is None:
        return TextReply(_("这个按钮已失效，请在系统中操作。"))
    try:
        if action.permission:
            ctx.require(action.permission)
        with unit_of_work(ctx):
            click = CardClick(
                action=action,
                key=event_key,
                arg=arg or None,
                task_id=task_id,
                chat_id=chat_id,
                sender=ctx.actor,
                record=record_for_task(task_id),
            )
            reply = as_reply(action.handler(ctx, click))
            if isinstance(reply, CardReply):
                if task_id and reply.card.task_id is None:
                    reply.card.task_id = task_id
                remember_card(chat_id, reply.card)
        return reply
    except TandemError as exc:
        return TextReply(exc.message)
