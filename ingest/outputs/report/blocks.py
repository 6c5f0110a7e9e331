"""What a section holds: charts (an Altair spec and its one-line reading) and HTML blocks rendered
from this package's templates (tables, "no data" and notes)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pandas as pd
from markupsafe import Markup

from .render import fragment
from .words import fmt

NO_DATA = "No data"
TOP = 20  # rows of each ranked chart
NARROW, WIDE, PANEL = 420, 640, 260  # chart widths


@dataclass
class Chart:
    key: str
    spec: dict
    reading: str


@dataclass
class Section:
    key: str
    title: str
    intro: Markup = Markup("")
    blocks: list[Chart | Markup] = field(default_factory=list)

    def no_data(self, marts: Iterable[str], why: str = "") -> Section:
        """Says which marts are missing or empty (or `why` they give nothing)."""
        why = why or "is missing or empty in this warehouse"
        self.blocks.append(fragment("nodata.html.j2", no_data=NO_DATA, marts=list(marts), message=f"{why}."))
        return self

    def nothing_because(self, message: str) -> Section:
        """Says there is no data, for the reason given (a sentence with its full stop)."""
        self.blocks.append(fragment("nodata.html.j2", no_data=NO_DATA, marts=[], message=message))
        return self


def chart(key: str, chart, reading: str) -> Chart:
    """The chart's spec. Vega never truncates a label (labelLimit 0): the labels drawn are cut
    by words.short_labels, only as far as they stay distinct."""
    import altair as alt

    chart = chart.configure_axis(labelLimit=0).configure_legend(labelLimit=0).configure_header(labelLimit=0)
    with alt.data_transformers.enable("default", max_rows=None):
        spec = chart.to_dict()
    return Chart(key, spec, reading)


def note(text: str) -> Markup:
    return fragment("note.html.j2", text=text)


def table(frame: pd.DataFrame, columns: dict[str, str], digits: int = 2, limit: int | None = None,
          heading: str = "") -> Markup:
    """A table of the frame's columns (name -> header), numbers formatted, under an optional
    heading. A frame with a dataset leads with a dataset column: a row copied elsewhere keeps it."""
    if "dataset" in frame and "dataset" not in columns and frame["dataset"].notna().any():
        columns = {"dataset": "dataset", **columns}
    rows = frame.head(limit) if limit else frame
    counts = [c for c in columns if c.startswith("n_") and pd.api.types.is_float_dtype(frame[c])
              and frame[c].dropna().mod(1).eq(0).all()]  # counts a join turned into floats
    cells = [[_cell(value, column in counts, digits) for column, value in zip(columns, record, strict=True)]
             for record in rows[list(columns)].itertuples(index=False)]
    more = f"{len(frame) - len(rows):,}" if len(rows) < len(frame) else ""
    return fragment("table.html.j2", heading=heading, head=list(columns.values()), rows=cells, more=more)


def _cell(raw, count: bool, digits: int) -> tuple[str, bool]:
    """A cell's text and whether it is a number (right-aligned)."""
    value = raw.item() if hasattr(raw, "item") else raw
    value = None if value is pd.NA or value is pd.NaT else value
    if count and isinstance(value, float) and not pd.isna(value):
        value = int(value)
    return fmt(value, digits), isinstance(value, int | float) and not isinstance(value, bool)
