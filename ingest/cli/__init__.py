"""The ``ingest`` command line: one module per command group, registered here in the order
`ingest --help` lists them."""

from __future__ import annotations

from . import devtools, evaluate, exports, labels, marts, models, queries, review, run, warehouse
from .app import app

app.command()(warehouse.init)
app.command()(run.run)
app.command()(devtools.demo)
app.command()(models.models)
app.command("import")(warehouse.import_rows)
app.command()(warehouse.merge)
app.command()(warehouse.land)
app.command()(devtools.bench)
app.command()(devtools.synth)
app.command()(marts.card)
app.command()(marts.report)
app.command()(marts.summary)
app.command("sql")(queries.sql_console)
app.add_typer(exports.export_app, name="export")
app.add_typer(labels.labels_app, name="labels")
app.add_typer(review.review_app, name="review")
app.add_typer(queries.analyses_app, name="analyses")
app.add_typer(evaluate.evaluate_app, name="evaluate")


def main() -> None:  # pragma: no cover
    app()


__all__ = ["app", "main"]
