"""``ingest report``: the audit report, one self-contained HTML file built from the census marts.

Every number and chart comes from a query over the marts in the warehouse's ``main`` schema
(never ``raw.*``), for one dataset (``ingest.outputs.scope``: --dataset, else the only one; --annotator
narrows to one model); a section whose mart is missing or empty says "no data". A warehouse
without any mart is refused in one sentence, and marts older than the raw rows are named at
the top of the page. Charts are Altair
(Vega-Lite) specifications rendered in the browser by vega-embed; the JavaScript of Vega,
Vega-Lite and vega-embed is inlined from the ``vl-convert-python`` package, so the file opens
from disk with no network and no server. Each chart has a title, axis titles and a one-line
reading computed from the same data.

Sections follow the papers: coverage; Table 4 and the 2019 headline shares with the age x
gender pyramid; class-wise eta and gender skewness; the agreement of two face models (Figure
10b); NSFW by class and the review shortlist (Figure 12, Table 5); the semantic map of the
labels (Figure 11); dog groups and instruments (Figure 14); human-delta accuracy (Figure 16);
classes with apparent minors; the method and the warning on apparent age and gender.

The package: ``page`` builds the page from ``sections`` (one module per mart area), whose blocks
are charts and HTML rendered by ``render`` from ``templates/`` (autoescaped); ``static/`` holds
the page's CSS and JavaScript, inlined with the Vega bundle (``vega``) into the one file.
"""

from .blocks import NO_DATA
from .page import REPORT_FILE, build_report, warehouse_words, write_report
from .reader import Marts, MartShapeError
from .sections.supercategories import supercategories as _supercategories  # the name tests/pytest/labels imports

__all__ = ["NO_DATA", "REPORT_FILE", "MartShapeError", "Marts", "_supercategories", "build_report",
           "warehouse_words", "write_report"]
