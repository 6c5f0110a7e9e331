"""The report's one Jinja environment: this package's templates, HTML-escaped by default, and
its static files (CSS, JavaScript) read for inlining."""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import jinja2
from markupsafe import Markup

PACKAGE = __package__ or "ingest.outputs.report"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.PackageLoader(PACKAGE, "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    # |tojson writes chart specs into <script> elements: compact, and never NaN (JSON.parse refuses it)
    env.policies["json.dumps_kwargs"] = {"separators": (",", ":"), "allow_nan": False}
    return env


def fragment(template: str, **context) -> Markup:
    """A template rendered: safe HTML, every value in `context` escaped unless it is Markup."""
    return Markup(environment().get_template(template).render(**context))


def prose(section: str, **context) -> Markup:
    """A section's fixed text (templates/sections/<section>.html.j2)."""
    return Markup(fragment(f"sections/{section}.html.j2", **context).strip())


def static(name: str) -> Markup:
    """A file of static/, to inline into the page (ours, so not escaped)."""
    return Markup((files(PACKAGE) / "static" / name).read_text(encoding="utf-8").strip())
