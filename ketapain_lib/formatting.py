"""How every number of the report is printed: one helper, used by tables, prose (glue) and the ledger.

Rules (those of clinical journals):

* Numbers are rounded half away from zero on their shortest decimal
  representation, so 6.25 prints as 6.3 and 2.675 as 2.68, as a reader
  rounding by hand would; a value that rounds to zero never prints as ``-0``.
* P values print with three decimals, as ``< 0.001`` below 0.001 and as
  ``> 0.999`` above 0.999; never ``0.000`` or ``1.000``.
* Missing values print as an en dash; booleans as ``yes``/``no``; sequences
  as comma-separated text. A Python ``repr`` never reaches a reader.

>>> fixed(6.25, 1), fixed(-0.0004, 3), fixed(2.675, 2)
('6.3', '0.000', '2.68')
>>> pvalue(0.00004), pvalue(0.35786999212117093), pvalue(0.9996)
('< 0.001', '0.358', '> 0.999')
>>> p_equals(0.042), p_equals(1e-5)
('= 0.042', '< 0.001')
"""
from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from numbers import Integral, Real

MISSING = "–"
P_DECIMALS = 3


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN, pd.NA-safe comparison
    except (TypeError, ValueError):
        return False


def as_printed(value: float) -> str:
    """A published value as the paper prints it: its shortest form; ``–`` if missing.

    >>> as_printed(0.048), as_printed(20.0), as_printed(float("nan"))
    ('0.048', '20', '–')
    """
    return MISSING if _is_missing(value) else f"{float(value):g}"


def decimals_of(printed: str) -> int:
    """The decimals of a number as printed (``"0.425"`` has 3, ``"20"`` none).

    >>> decimals_of("0.425"), decimals_of("20"), decimals_of("-0.2")
    (3, 0, 1)
    """
    return len(printed.split(".")[1]) if "." in printed else 0


def beside_published(value: float, published: float, most: int = 3) -> str:
    """A reproduced value beside the published one: one decimal more than the paper prints (at most ``most``),
    enough to see how close it lands without claiming more precision than the comparison has.

    >>> beside_published(0.19312, 0.2), beside_published(185.04, 185.0), beside_published(0.42512, 0.425)
    ('0.19', '185.0', '0.425')
    """
    return fixed(value, min(most, decimals_of(as_printed(published)) + 1))


def fixed(value: float, decimals: int) -> str:
    """``value`` with exactly ``decimals`` decimals, rounded half away from zero; ``–`` if missing.

    >>> fixed(0.5, 0), fixed(1.5, 0), fixed(-2.5, 0), fixed(float("nan"), 2)
    ('1', '2', '-3', '–')
    """
    if _is_missing(value):
        return MISSING
    number = float(value)
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(repr(number)).quantize(quantum, rounding=ROUND_HALF_UP)
    if rounded == 0:
        rounded = abs(rounded)  # never "-0.000"
    return f"{rounded:f}"


def pvalue(p: float, decimals: int = P_DECIMALS) -> str:
    """A P value as journals print it: ``0.358``, ``< 0.001``, ``> 0.999``; ``–`` if missing.

    >>> pvalue(0.0499), pvalue(0.04999), pvalue(0.001)
    ('0.050', '0.050', '0.001')
    """
    if _is_missing(p):
        return MISSING
    floor = 10.0 ** -decimals
    if float(p) < floor:
        return f"< {fixed(floor, decimals)}"
    if float(p) > 1 - floor:
        return f"> {fixed(1 - floor, decimals)}"
    return fixed(p, decimals)


def p_equals(p: float, decimals: int = P_DECIMALS) -> str:
    """The relation and value that follow "P" in prose: ``= 0.042`` or ``< 0.001``."""
    text = pvalue(p, decimals)
    return text if text[0] in "<>" else f"= {text}"


def percent(count: int, total: int, decimals: int = 0) -> str:
    """``count`` as a percentage of ``total``, e.g. ``35%``; ``–`` when ``total`` is 0.

    >>> percent(7, 20), percent(1, 3, 1)
    ('35%', '33.3%')
    """
    if not total:
        return MISSING
    return f"{fixed(100 * count / total, decimals)}%"


def n_percent(count: int, total: int) -> str:
    """A count with its percentage of ``total``, as tables print it.

    >>> n_percent(3, 20)
    '3 (15%)'
    """
    return f"{count} ({percent(count, total)})"


def interval(low: float, high: float, decimals: int) -> str:
    """A confidence interval as ``low to high`` (a hyphen would read as a minus sign).

    >>> interval(-0.34, 0.61, 1)
    '-0.3 to 0.6'
    """
    return f"{fixed(low, decimals)} to {fixed(high, decimals)}"


def cell(value: object, decimals: int = 2) -> str:
    """Any table cell as text: numbers at ``decimals``, integers exact, booleans yes/no, sequences joined.

    >>> cell(True), cell((1, 2)), cell(3), cell(3.14159, 1), cell(None)
    ('yes', '1, 2', '3', '3.1', '–')
    """
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "yes" if value else "no"
    if isinstance(value, (tuple, list, set, frozenset)):
        return ", ".join(cell(v, decimals) for v in value)
    if _is_missing(value):
        return MISSING
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        number = float(value)
        return str(int(number)) if decimals == 0 and number.is_integer() else fixed(number, decimals)
    return str(value)


def degrees_of_freedom(value: float, decimals: int = 1) -> str:
    """Degrees of freedom: whole ones as integers, others (Kenward-Roger, Satterthwaite) with ``decimals``.

    >>> degrees_of_freedom(35.0), degrees_of_freedom(33.4712), degrees_of_freedom(2)
    ('35', '33.5', '2')
    """
    if _is_missing(value) or isinstance(value, str):
        return cell(value)
    number = float(value)
    return str(int(number)) if number.is_integer() else fixed(number, decimals)


def plural(n: object, noun: str, plural_form: str | None = None) -> str:
    """``noun`` in the number that agrees with ``n`` (one: singular; any other count: plural).

    The plural is ``noun`` + "s" unless ``plural_form`` is given; a phrase ("published number") pluralises its
    last word.

    >>> plural(1, "number"), plural(3, "number"), plural(0, "analysis", "analyses"), plural(2, "point")
    ('number', 'numbers', 'analyses', 'points')
    """
    if not _is_missing(n) and not isinstance(n, str) and float(n) == 1:
        return noun
    return plural_form if plural_form is not None else f"{noun}s"


#: Numbers spelled in words in running prose (a journal's style: one to nine in words, 10 and above in digits).
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def number_word(n: int) -> str:
    """A small count in words, as prose writes it ("the three periods"); 10 and above in digits.

    >>> number_word(3), number_word(6), number_word(12)
    ('three', 'six', '12')
    """
    return _NUMBER_WORDS[n] if 0 <= n < len(_NUMBER_WORDS) else str(n)


def and_list(items: list[str]) -> str:
    """Items in a sentence: "a, b and c" ("" for none).

    >>> and_list(["a", "b", "c"]), and_list(["a"]), and_list([])
    ('a, b and c', 'a', '')
    """
    return ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")


def count(value: object, noun: str | None = None, plural_form: str | None = None) -> str:
    """A count as an integer (a whole float from a merge prints as ``20``, not ``20.00``); with ``noun``, the
    count and the noun in the number that agrees with it (never "number(s)").

    >>> count(20.0), count(7), count(float("nan"))
    ('20', '7', '–')
    >>> count(1, "number"), count(3, "number"), count(2.0, "conclusion"), count(1, "analysis", "analyses")
    ('1 number', '3 numbers', '2 conclusions', '1 analysis')
    """
    if _is_missing(value) or isinstance(value, str) or isinstance(value, bool):
        text = cell(value)
    else:
        number = float(value)
        text = str(int(number)) if number.is_integer() else cell(number)
    return text if noun is None else f"{text} {plural(value, noun, plural_form)}"


def is_df_column(name: str) -> bool:
    """Columns of degrees of freedom: ``df``, ``ndf``, ``ddf...``, ``..._df``."""
    return name in ("df", "ndf") or name.startswith("ddf") or name.endswith("_df")


def is_count_column(name: str) -> bool:
    """Columns of counts: ``n``, ``n_...``, ``..._n``, patients, responders, the improved."""
    return (name == "n" or name.startswith(("n_", "improved_")) or name.endswith("_n")
            or name in ("responders", "patients", "events"))


def frame_as_text(frame, decimals: int | dict[str, int] = 2, p_columns: tuple[str, ...] = ()):
    """A DataFrame with every cell formatted for display (P columns as :func:`pvalue`).

    ``decimals`` is one precision for every numeric column or a mapping by
    column (columns not named get 2). Columns whose name is ``p``, starts
    with ``p_`` or ``p:``, ends with ``_p`` or holds ``_p_`` are P values, as are
    ``p_columns``. Degrees of freedom print as :func:`degrees_of_freedom` and counts as :func:`count`
    (:func:`is_df_column`, :func:`is_count_column`) unless ``decimals`` names the column.

    >>> import pandas as pd
    >>> frame_as_text(pd.DataFrame({"estimate": [-0.0001], "p": [0.0004]}), 3).iloc[0].tolist()
    ['0.000', '< 0.001']
    """
    out = frame.copy().astype(object)
    for column in frame.columns:
        name = str(column)
        is_p = (name in p_columns or name == "p" or name.startswith(("p_", "p:", "P ")) or name.endswith("_p")
                or "_p_" in name)
        named = isinstance(decimals, dict) and name in decimals
        places = decimals.get(name, 2) if isinstance(decimals, dict) else decimals
        if is_df_column(name) and not named:
            out[column] = [degrees_of_freedom(v) for v in frame[column]]
        elif is_count_column(name) and not named:
            out[column] = [count(v) for v in frame[column]]
        else:
            out[column] = [pvalue(v) if is_p and not isinstance(v, str) else cell(v, places) for v in frame[column]]
    return out


# --------------------------------------------------------------------------- numbers that never break across lines

NBSP = "\u00a0"
NON_BREAKING_HYPHEN = "\u2011"
WORD_JOINER = "\u2060"
#: ``P = 0.273``, ``N = 20``, ``W < 0.5``: a letter, a relation and a number (the spaces become non-breaking).
_RELATION = re.compile(r"(?<=[A-Za-zχ²])[ \u00a0]([=<>≤≥])[ \u00a0](?=[-−]?\d)")
#: ``(0-10)``, ``35–38``: a range between two numbers (the dash may not end a line).
#: (Not inside an identifier such as a DOI, ``s13428-015-0664-2``, or a date: only a number after a space or a
#: bracket, of at most four digits on each side.)
_HYPHEN_RANGE = re.compile(r"(?<![\w.,/-])(\d{1,4}(?:\.\d+)?)-(?=\d{1,4}(?:\.\d+)?(?![\w/-]))")
_DASH_RANGE = re.compile(r"(?<=\d)\u2060?–\u2060?(?=\d)")


def unbroken(text: str) -> str:
    """``text`` with its relations and ranges of numbers made unbreakable, as a page shows them: the spaces of
    ``P = 0.273`` and ``(N = 20)`` non-breaking, the hyphen of ``(0-10)`` a non-breaking hyphen, the en dash of
    ``35–38`` held by word joiners. Only what a browser lays out goes through it (not the CSV export).

    >>> unbroken("omnibus P = 0.273, Ketamine (N = 20), Anxiety (0-21), range 35–38, -0.3 to 0.6")
    'omnibus P\\xa0=\\xa00.273, Ketamine (N\\xa0=\\xa020), Anxiety (0‑21), range 35\\u2060–\\u206038, -0.3 to 0.6'
    >>> unbroken("< 0.001") == "< 0.001" and unbroken(unbroken("P = 0.1")) == unbroken("P = 0.1")
    True
    >>> unbroken("doi 10.3758/s13428-015-0664-2, 2015-06-10, (0.5-1.5)")
    'doi 10.3758/s13428-015-0664-2, 2015-06-10, (0.5‑1.5)'
    
    """
    if not isinstance(text, str):
        return text
    text = _RELATION.sub(lambda m: f"{NBSP}{m.group(1)}{NBSP}", text)
    text = _HYPHEN_RANGE.sub(lambda m: m.group(1) + NON_BREAKING_HYPHEN, text)
    return _DASH_RANGE.sub(f"{WORD_JOINER}–{WORD_JOINER}", text)


def unbroken_after(before: str, value: str) -> tuple[str, str]:
    """Two adjacent pieces of a sentence (``"…omnibus P "`` and a glued ``"= 0.273"``) with the break between a
    letter and a relation taken away: the space that ends ``before`` and the one after the relation become
    non-breaking.

    >>> unbroken_after("omnibus P ", "= 0.273; more")
    ('omnibus P\\xa0', '=\\xa00.273; more')
    >>> unbroken_after("the words ", "and more")
    ('the words ', 'and more')
    """
    if re.search(r"[A-Za-zχ²] $", before) and re.match(r"[=<>≤≥] (?=[-−]?\d)", value):
        return before[:-1] + NBSP, value[0] + NBSP + value[2:]
    return before, value
