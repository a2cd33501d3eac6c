"""Parsing chat text: ``@机器人 ＃跟进：OPP-1023 已发方案，客户考虑中``.

Full-width ``＃``/``＠``/letters/digits and the ideographic space are folded for *matching*
only; the argument text a handler stores (a follow-up's content) keeps the user's Chinese
punctuation. Triggers and ``argv`` tokens are NFKC-normalised (``５０％`` → ``50%``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from dataclasses import field
from decimal import Decimal
from decimal import InvalidOperation

# Separators between a trigger and its arguments, and between arguments.
SEPARATORS = " \t\r\n\u3000\u2005,，;；:：、"
_ARG_SPLIT = re.compile(r"[\s,;、]+")
_TRIGGER_END = re.compile(r"[\s,，;；:：、@＠#＃]")
# A mention starts the text or follows a separator/bracket; it ends at a separator.
_MENTION = re.compile(r"(?<![^\s,，;；:：、(（])[@＠]([^\s@＠,，;；:：、。!！?？()（）]+)")
_DEFAULT_REF_VALUE = r"\d[0-9A-Za-z]*"


def fold(text: str) -> str:
    """Map full-width ASCII variants (U+FF01–FF5E) and U+3000 to ASCII, one char for one,
    so positions in the folded string are positions in ``text``."""
    out = []
    for ch in text:
        code = ord(ch)
        if 0xFF01 <= code <= 0xFF5E:
            out.append(chr(code - 0xFEE0))
        elif code == 0x3000:
            out.append(" ")
        else:
            out.append(ch)
    return "".join(out)


def normalize_trigger(trigger: str) -> str:
    """``＃帮助`` / ``#帮助`` / ``帮助`` → ``帮助``; ASCII is case-folded (``HELP`` → ``help``)."""
    return unicodedata.normalize("NFKC", trigger).strip().lstrip("#").strip().casefold()


@dataclass
class ParsedText:
    """The command part of a message: ``trigger`` (normalised, without ``#``), ``args``
    (raw argument text, trimmed), ``argv`` (NFKC tokens), ``mention_names`` (``@名字``
    found in the arguments) and ``explicit`` (the text started with ``#``)."""

    trigger: str
    args: str
    argv: list[str] = field(default_factory=list)
    mention_names: list[str] = field(default_factory=list)
    explicit: bool = True


def strip_leading_mentions(text: str) -> str:
    """Drop the ``@机器人`` (and any other mentions) in front of a command.

    When the text starts with a mention and contains ``#``, everything before the first
    ``#`` goes (robot names may contain spaces); otherwise leading ``@word`` tokens go.
    """
    text = text.strip()
    folded = fold(text)
    if folded.startswith("@") and "#" in folded:
        return text[folded.index("#") :]
    while folded.startswith("@"):
        match = re.match(r"@\S*\s*", folded)
        end = match.end() if match else len(folded)
        text, folded = text[end:], folded[end:]
    return text.strip()


def split_args(args: str) -> list[str]:
    """NFKC tokens of the argument text, split on spaces and ``，；、``."""
    normalized = unicodedata.normalize("NFKC", args)
    return [tok for tok in _ARG_SPLIT.split(normalized) if tok]


def mention_names(text: str) -> list[str]:
    """Names after ``@``/``＠`` in ``text``, in order, without duplicates."""
    names = [m.group(1) for m in _MENTION.finditer(fold(text))]
    return list(dict.fromkeys(names))


def parse_text(text: str) -> ParsedText | None:
    """Split ``text`` into trigger and arguments; ``None`` for an empty message.

    Text without a leading ``#`` still parses (``explicit=False``, first word as trigger) so
    the dispatcher can accept a bare ``帮助`` in a single chat.
    """
    body = strip_leading_mentions(text or "")
    if not body:
        return None
    folded = fold(body)
    explicit = folded.startswith("#")
    start = 1 if explicit else 0
    while start < len(folded) and folded[start] in SEPARATORS:
        start += 1
    match = _TRIGGER_END.search(folded, start)
    end = match.start() if match else len(folded)
    trigger = normalize_trigger(body[start:end])
    args = body[end:].lstrip(SEPARATORS).rstrip()
    return ParsedText(
        trigger=trigger,
        args=args,
        argv=split_args(args),
        mention_names=mention_names(args),
        explicit=explicit,
    )


@dataclass(frozen=True)
class Reference:
    """A record reference found in text: ``OPP-1023`` → prefix ``OPP-``, value ``1023``.

    ``text`` is the canonical form (declared prefix + value, upper-cased); ``span`` is its
    position in the searched string.
    """

    prefix: str
    value: str
    span: tuple[int, int]

    @property
    def text(self) -> str:
        return f"{self.prefix}{self.value}"


def parse_reference(text: str, prefix: str, pattern: str = _DEFAULT_REF_VALUE) -> Reference | None:
    """The first reference ``<prefix><value>`` in ``text`` (``OPP-1023``, ``CUS-12``,
    ``AS20240202123456ABC``), case-insensitive, full-width forms accepted.

    ``pattern`` is the regex of the value (default: a digit then letters/digits). The
    reference must not be glued to a preceding letter or digit (``XOPP-1`` is no match).
    """
    regex = re.compile(
        rf"(?<![0-9A-Za-z]){re.escape(fold(prefix))}({pattern})(?![0-9A-Za-z])", re.IGNORECASE
    )
    match = regex.search(fold(text))
    if match is None:
        return None
    return Reference(prefix=prefix.upper(), value=match.group(1).upper(), span=match.span())


def remove_span(text: str, span: tuple[int, int]) -> str:
    """``text`` without ``span``, trimmed of separators around it
    (``"OPP-1 ，已发方案"`` → ``"已发方案"``)."""
    left = text[: span[0]].rstrip(SEPARATORS)
    right = text[span[1] :].lstrip(SEPARATORS)
    return (left + (" " if left and right else "") + right).strip()


# An amount as people type it: "18.5万", "1.85万元", "¥185,000", "185000元", "RMB 2千".
_AMOUNT = re.compile(
    r"(?<![0-9A-Za-z.\-])(?<!\d,)(?:(?:¥|RMB|人民币)\s*)?"
    r"(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*(万|千|k|w)?\s*(?:元|块)?(?![0-9A-Za-z.%]|,\d)",
    re.IGNORECASE,
)
_UNITS = {None: 1, "万": 10000, "w": 10000, "千": 1000, "k": 1000}


@dataclass(frozen=True)
class Amount:
    """An amount found in text: ``value`` in yuan, ``span`` its position in the text."""

    value: Decimal
    span: tuple[int, int]


def _amount_text(text: str) -> str:
    """``text`` folded for amounts, one char for one (so spans are positions in ``text``)."""
    return fold(text or "").replace("\uffe5", "¥")


def find_amount(text: str) -> Amount | None:
    """The first amount in ``text`` as people type it in a chat: thousands commas, a
    currency sign (``¥``/``￥``/``RMB``), ``元``/``块`` and the units ``万``/``千``
    (``w``/``k``), full-width digits too. ``"18.5万"`` → 185000.00; ``None`` when there is
    none. A number glued to letters (``OPP-1023``, ``5a``) or a percentage is no amount.
    ``span`` is the amount's position in ``text`` (for :func:`remove_span`)."""
    match = _AMOUNT.search(_amount_text(text))
    if match is None:
        return None
    whole, fraction, unit = match.group(1), match.group(2) or "", match.group(3)
    try:
        value = Decimal(whole.replace(",", "") + fraction)
    except InvalidOperation:  # pragma: no cover - the regex only lets digits through
        return None
    value *= _UNITS[unit.lower() if unit and unit.isascii() else unit]
    cents = value.quantize(Decimal("0.01"))
    return Amount(value=cents if cents == value else value, span=match.span())


def parse_amount(text: str) -> Decimal | None:
    """``text`` as one amount (nothing else in it), else ``None``:
    ``parse_amount("1.85万元") == Decimal("18500.00")``."""
    found = find_amount(text)
    if found is None:
        return None
    folded = _amount_text(text)
    if folded[: found.span[0]].strip() or folded[found.span[1] :].strip():
        return None
    return found.value
