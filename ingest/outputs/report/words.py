"""Numbers and names in the words of the page: axis labels cut without clashing, plurals, lists
of leaders, Pearson r with its n, percentages and table cells."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ...core.classes import UNLABELLED

LABEL_CHARS = 36  # axis and legend labels are cut (middle ellipsis) to about this, never into duplicates
MIN_CLASSES_R = 10  # a Pearson r over fewer classes is printed with its n and "not meaningful"


def _cut(text: str, width: int) -> str:
    """text in at most `width` characters: its head and tail around an ellipsis."""
    if len(text) <= width:
        return text
    tail = (width - 1) // 3  # names that share a long head ("album 1", "album 2") differ at the end
    head = width - 1 - tail
    return text[:head].rstrip() + "…" + (text[-tail:].lstrip() if tail else "")


def short_labels(values: Iterable, width: int = LABEL_CHARS) -> dict[str, str]:
    """value -> its label on an axis or legend: cut to about `width` characters, cut less
    (at worst not at all) where two cuts would read the same."""
    names = list(dict.fromkeys(str(v) for v in values))
    widths = dict.fromkeys(names, width)
    while True:
        cuts = {n: _cut(n, widths[n]) for n in names}
        owners: dict[str, list[str]] = {}
        for name, cut in cuts.items():
            owners.setdefault(cut, []).append(name)
        clashes = [group for group in owners.values() if len(group) > 1]
        if not clashes:
            return cuts
        for group in clashes:
            for name in group:
                widths[name] = min(len(name), widths[name] + 8)


def axis_labels(frame: pd.DataFrame, column: str, into: str = "label") -> pd.DataFrame:
    """frame with `into`: the column's values as drawn on an axis (distinct, short)."""
    frame[into] = frame[column].astype(str).map(short_labels(frame[column].astype(str)))
    return frame


def plural(n: int, noun: str) -> str:
    """`1 class`, `2 classes`, `3 models`."""
    if n == 1:
        return f"1 {noun}"
    return f"{n:,} {noun}es" if noun.endswith(("s", "x")) else f"{n:,} {noun}s"


def _words(name: str) -> str:
    """A class name inside a sentence."""
    return "the unlabelled images" if name == UNLABELLED else name


def listing(names: list[str], limit: int = 3) -> str:
    names = [_words(n) for n in names]
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit:,} more"
    return " and ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def leaders(frame: pd.DataFrame, value: str, name: str = "class", lowest: bool = False) -> str:
    """The names that hold the highest (lowest) value, every tie named (up to three)."""
    best = frame[value].min() if lowest else frame[value].max()
    return listing(list(frame.loc[frame[value] == best, name]))


def r_text(r, n, digits: int = 3) -> str:
    """A Pearson r with the classes behind it; too few classes are said to mean nothing."""
    n = None if n is None or pd.isna(n) else int(n)
    classes = plural(n, "class") if n is not None else "an unknown number of classes"
    if pd.isna(r):
        return f"r undefined (from {classes})"
    if n is None or n < MIN_CLASSES_R:
        return f"r = {r:.{digits}f} from only {classes}: too few to mean anything"
    return f"r = {r:.{digits}f} ({classes})"


def fmt(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def pct(value, digits: int = 1) -> str:
    return "–" if value is None or pd.isna(value) else f"{100 * value:.{digits}f} %"
