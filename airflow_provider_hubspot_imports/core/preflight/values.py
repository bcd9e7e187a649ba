"""How HubSpot reads a cell of each property type, checked many distinct values at a time.

A checker takes distinct non-blank texts and returns the ones HubSpot would refuse, with HubSpot's
error type. Regular expressions run through `map` so that a column of unique values (emails, ids)
costs no Python-level loop; what needs Python (a calendar date, an enumeration option) runs once
per distinct value.
Some kinds also have a proof over a whole column of a chunk (`CHUNK_PROOFS`): a few scans in C
that, when they hold, show every cell good without a set of its values; when a proof does not
hold, the checker decides, value by value where it must.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from itertools import compress
from operator import itemgetter, methodcaller, not_

DATE_FORMATS = ("MONTH_DAY_YEAR", "DAY_MONTH_YEAR", "YEAR_MONTH_DAY")
DEFAULT_DATE_FORMAT = "MONTH_DAY_YEAR"
# HubSpot stores at most 65,536 characters in a property value; a longer cell is COLUMN_TOO_LARGE.
MAX_VALUE_CHARS = 65_536

Checker = Callable[[list[str]], dict[str, str]]  # distinct texts -> {refused text: error type}

_SEP = r"[/.\-]"
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:\s?[AaPp][Mm])?(?:Z|[+\-]\d{2}:?\d{2})?)?"
_DAY_FIRST = rf"\s*(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}}|\d{{2}}){_TIME}\s*"
_DATE_PATTERNS = {
    "MONTH_DAY_YEAR": re.compile(_DAY_FIRST),
    "DAY_MONTH_YEAR": re.compile(_DAY_FIRST),
    "YEAR_MONTH_DAY": re.compile(rf"\s*(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}}){_TIME}\s*"),
}
_FIELD_ORDER = {"MONTH_DAY_YEAR": (2, 0, 1), "DAY_MONTH_YEAR": (2, 1, 0), "YEAR_MONTH_DAY": (0, 1, 2)}
# Epoch milliseconds (what HubSpot's API itself uses for dates) are read in any dateFormat.
_EPOCH_MS = re.compile(r"\s*-?\d{10,13}\s*")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_EMAIL = re.compile(rf"\s*[^@\s\"(),:;<>\[\]\\]+@{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}\s*")
_DOMAIN = re.compile(rf"\s*(?:https?://)?(?:{_LABEL}\.)+[A-Za-z]{{2,63}}\.?(?::\d{{1,5}})?(?:/\S*)?\s*")
# Plain decimal numbers: sign, point, exponent; no thousands separators, no NaN or infinity.
_NUMBER = re.compile(r"\s*[+\-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+\-]?\d{1,3})?\s*")
BOOL_TEXTS = frozenset({"true", "false", "yes", "no", "1", "0"})


def pattern_checker(pattern: re.Pattern[str], error_type: str) -> Checker:
    """Texts the pattern does not match whole are refused with `error_type`."""
    fullmatch = pattern.fullmatch

    def refused(texts: list[str]) -> dict[str, str]:
        return dict.fromkeys(compress(texts, map(not_, map(fullmatch, texts))), error_type)

    return refused


def date_checker(date_format: str) -> Checker:
    """Dates written in `date_format` (a time of day may follow), real calendar dates only."""
    pattern = _DATE_PATTERNS[date_format]
    year_at, month_at, day_at = _FIELD_ORDER[date_format]

    def parses(text: str) -> bool:
        match = pattern.fullmatch(text)
        if match is None:
            return _EPOCH_MS.fullmatch(text) is not None
        fields = match.groups()
        year = int(fields[year_at]) + (2000 if len(fields[year_at]) == 2 else 0)
        try:
            date(year, int(fields[month_at]), int(fields[day_at]))
        except ValueError:
            return False
        return True

    def refused(texts: list[str]) -> dict[str, str]:
        return {text: "COULD_NOT_PARSE_DATE" for text in texts if not parses(text)}

    return refused


def bool_checker(texts: list[str]) -> dict[str, str]:
    return {text: "FAILED_VALIDATION" for text in texts if text.strip().lower() not in BOOL_TEXTS}


number_checker = pattern_checker(_NUMBER, "COULD_NOT_PARSE_NUMBER")
domain_checker = pattern_checker(_DOMAIN, "INVALID_DOMAIN")
_email_pattern_checker = pattern_checker(_EMAIL, "INVALID_EMAIL")
_EMAIL_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.[A-Za-z]{{2,63}}")
# What the local part of _EMAIL excludes, as one character class searched over a chunk's local parts.
_NOT_IN_LOCAL_PART = re.compile(r'[\s"(),:;<>\[\]\\@]')
_at_split = methodcaller("rpartition", "@")
_local_part, _domain_part = itemgetter(0), itemgetter(2)
# For ASCII addresses joined by newlines: every byte is deleted but "@", the newline and the bytes
# _NOT_IN_LOCAL_PART refuses (taken from that pattern, so the two cannot disagree).
_ASCII_MARKS = bytes(code for code in range(128) if _NOT_IN_LOCAL_PART.match(chr(code)))
_NOT_MARKS = bytes(code for code in range(256) if code not in _ASCII_MARKS)
_SAME_BYTES = bytes(range(256))


def ascii_emails_proven(texts: Sequence[str]) -> bool:
    """Whether every text is ``local@domain`` with no byte the local part may not hold and a well
    formed domain, proven over the whole list with a few scans in C: the texts joined by newlines,
    stripped to their marks, must read "@" between newlines only (one "@" a text, no space, no
    newline inside a text, none of the refused characters); then each distinct domain is matched.
    False does not mean an address is bad, only that the proof does not hold (a space around an
    address, a non-ASCII character...)."""
    joined = "\n".join(texts)
    if not joined.isascii():
        return False
    raw = joined.encode("ascii")
    if raw.translate(_SAME_BYTES, _NOT_MARKS) != b"@\n" * (len(texts) - 1) + b"@":
        return False
    # One "@" a text: the pieces alternate local part, domain.
    pieces = joined.replace("\n", "@").split("@")
    if "" in pieces[0::2]:
        return False  # an empty local part
    return all(map(_EMAIL_DOMAIN.fullmatch, set(pieces[1::2])))


def email_checker(texts: list[str]) -> dict[str, str]:
    """E-mail addresses, as the full pattern `_EMAIL` reads them. The common case (every address of
    the chunk well formed) is proven over the whole chunk: for ASCII addresses by a few byte scans
    and a pattern per distinct domain; else with an `rpartition` per address, one search over the
    joined local parts and a pattern per distinct domain. A chunk that fails both proofs goes
    through the full pattern, address by address, which names each bad one."""
    if not texts or ascii_emails_proven(texts):
        return {}
    parts = list(map(_at_split, texts))
    local_parts = list(map(_local_part, parts))
    domains = set(map(_domain_part, parts))
    if (
        "" in local_parts
        or "" in domains
        or _NOT_IN_LOCAL_PART.search("".join(local_parts)) is not None
        or not all(map(_EMAIL_DOMAIN.fullmatch, domains))
    ):
        return _email_pattern_checker(texts)
    return {}


def whole_numbers_or_blank(cells: Sequence[str]) -> bool:
    """Whether every cell is ASCII digits or blank (``""``), proven on the cells joined end to end
    (all ASCII digits exactly when each cell is): such cells are numbers to `_NUMBER`, and a blank
    one writes nothing. The usual whole-number column is settled so without a set lookup per cell,
    whose hashing of new strings costs more; False only means the proof does not hold."""
    joined = "".join(cells)
    return joined.isascii() and (joined.isdigit() or not joined)


# A proof over a whole column of a chunk that every cell passes a checker (or is blank), cheaper
# than the checker's set of distinct values; a chunk it does not hold for goes the usual way.
CHUNK_PROOFS: dict[Checker, Callable[[Sequence[str]], bool]] = {
    number_checker: whole_numbers_or_blank,
    email_checker: ascii_emails_proven,
}


def accepts(checker: Checker, text: str) -> bool:
    """One text through a checker (for tests and one-off checks)."""
    return not checker([text])


class Enumeration:
    """An enumeration's options: HubSpot accepts an option's value or its label. A text that is no
    option's value and matches (ignoring case) the value or label of more than one option is
    ambiguous. Multi-select properties (fieldType ``checkbox``) take values separated by ``;``."""

    def __init__(self, options: Iterable[Mapping[str, object]], *, multiple: bool = False) -> None:
        options = list(options)
        self.values = frozenset(str(o.get("value")) for o in options if o.get("value") is not None)
        folded: dict[str, set[str]] = {}
        for option in options:
            value = str(option.get("value"))
            for text in (option.get("value"), option.get("label")):
                if text is not None:
                    folded.setdefault(str(text).strip().lower(), set()).add(value)
        self.folded = folded
        self.multiple = multiple

    def verdict(self, text: str) -> str | None:
        """None when accepted, else HubSpot's error type (INVALID_ or AMBIGUOUS_ENUMERATION_OPTION)."""
        items = text.split(";") if self.multiple else [text]
        for item in items:
            item = item.strip()
            if not item or item in self.values:
                continue
            matches = self.folded.get(item.lower())
            if not matches:
                return "INVALID_ENUMERATION_OPTION"
            if len(matches) > 1:
                return "AMBIGUOUS_ENUMERATION_OPTION"
        return None

    def __call__(self, texts: list[str]) -> dict[str, str]:
        verdicts = {text: self.verdict(text) for text in texts}
        return {text: kind for text, kind in verdicts.items() if kind is not None}
