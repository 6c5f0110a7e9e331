"""The JavaScript that draws the charts: Vega, Vega-Lite and vega-embed from vl-convert-python,
inlined into the page so that it opens offline."""

from __future__ import annotations

import os

from markupsafe import Markup

from ingest.core.config import cache_root


def javascript() -> tuple[Markup, str]:
    """The vega + vega-lite + vega-embed bundle (from vl-convert-python, offline) and its versions.
    vl-convert builds the bundle in about 5 s; it depends only on the package versions, so it is
    cached in the cache root (core.config.cache_root; skipped where that is not writable)."""
    import altair as alt
    import vl_convert as vlc

    vl = alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0]
    cached = cache_root() / f"vega-embed-bundle-vlc{vlc.__version__}-vl{vl}.js"
    try:
        bundle = cached.read_text(encoding="utf-8")
    except OSError:
        bundle = vlc.javascript_bundle(vl_version=vl)
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
            tmp.write_text(bundle, encoding="utf-8")
            tmp.replace(cached)
        except OSError:
            pass
    if "</script" in bundle.lower():
        bundle = bundle.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT")
    versions = (f"Vega {vlc.get_vega_version()}, Vega-Lite {vl}, vega-embed {vlc.get_vega_embed_version()} "
                f"(inlined from vl-convert-python {vlc.__version__}), Altair {alt.__version__}")
    return Markup(bundle), versions  # generated JavaScript, its closing tags escaped above
