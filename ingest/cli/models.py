"""`ingest models`: each profile's models and the state of their weights."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from .console import console, out
from .options import ModelsDirOption


def models(
    models_dir: ModelsDirOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per weight file.")] = False,
) -> None:
    """List each profile, each model, where its weights are and whether they are usable."""
    from ..core.config import models_dir as env_models_dir
    from ..models import REGISTRY
    from ..models.profiles import PROFILES
    from ..models.runtime import cuda_available, onnx_providers_available, onnxruntime_conflict

    folder = models_dir or env_models_dir()
    conflict = onnxruntime_conflict()
    if conflict:
        console.print(f"[yellow]warning:[/] {conflict}", soft_wrap=True)
    if not as_json:
        out.print(f"onnxruntime providers: {', '.join(onnx_providers_available())}; "
                  f"CUDA usable: {'yes' if cuda_available() else 'no'}; weights folder: {folder or 'not set'}")
    table = Table(title="models")
    for col in ("profile", "stage", "annotator", "file", "status"):
        table.add_column(col, overflow="fold")
    listing = [(profile, stage, name) for profile, stages in PROFILES.items()
               for stage, names in stages.items() for name in names]
    in_profiles = {name for _, _, name in listing}
    listing += [("(extra)", cls.stage, name) for name, cls in REGISTRY.items() if name not in in_profiles]
    for profile, stage, name in listing:
        model = REGISTRY[name](device="cpu", models_dir=folder)
        for weight in model.weight_files():
            problem = weight.problem()
            if as_json:
                out.print(json.dumps({"profile": profile, "stage": stage, "annotator": name,
                                      "file": str(weight.path), "status": problem or "present"}), soft_wrap=True)
                continue
            status = "[green]present[/]" if problem is None else f"[red]{problem}[/]"
            table.add_row(profile, stage, name, str(weight.path), status)
    if not as_json:
        out.print(table)
