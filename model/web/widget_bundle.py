"""Plotly's widget JavaScript for the page: one download per tab, from Solara's cache, not four through the websocket.

Since plotly 6 the figure widget is an anywidget, whose JavaScript module (``_esm``) is a trait of
every widget: plotly sets it to the text of its ``package_data/widgetbundle.js`` (4.96 MB in plotly
7.1). The page holds four figures (the map and three charts), so each new tab received 19.8 MB
through its websocket (compressed by the server, 0.8 s of its CPU) and the browser evaluated the
bundle four times, once per figure, from a ``blob:`` URL that no cache keeps: 9 to 10 s of the
12 s a tab took to show its map on this machine (docs/browser.md, *Opening a tab*).

An anywidget whose ``_esm`` is an ``http(s)`` URL is imported from that URL instead, which the
browser fetches and evaluates once per page (its module map keys modules by URL) and keeps in its
HTTP cache. :func:`install` copies plotly's bundle into Solara's cache of front-end files
(``<sys.prefix>/share/solara/cdn``, model/web/assets.py), in a folder named for the plotly version
and the file's hash, which Solara's proxy serves at ``<cdn>/<folder>/widgetbundle.js`` (marked
immutable: an exact version in the path). The widget's ``_esm`` becomes :func:`shim`, a few lines
that import that URL (the page's own address is known only in the browser: ``window.solara_cdn``).
Where the bundle is not in the cache (a read-only install, ``SOLARA_ASSETS_PROXY=False``), the
widget keeps plotly's ``_esm``: slower, the same page.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
from pathlib import Path

FILE = "widgetbundle.js"


def source() -> Path:
    """Plotly's widget bundle as installed (``plotly/package_data/widgetbundle.js``)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / FILE


@functools.cache
def _digest() -> str:
    """The SHA-256 of plotly's bundle as installed (hex)."""
    return hashlib.sha256(source().read_bytes()).hexdigest()


def folder() -> str:
    """The bundle's folder in Solara's cache: ``lifecircle-plotly-widget@<plotly version>-<hash>``.

    The hash (the first 12 hex digits of the file's SHA-256) names the content: a browser's cached
    copy is never taken for another plotly's.
    """
    import plotly

    return f"lifecircle-plotly-widget@{plotly.__version__}-{_digest()[:12]}"


def installed(cache: Path) -> bool:
    """Whether ``cache`` holds the installed plotly's bundle (the same SHA-256)."""
    try:
        return hashlib.sha256((cache / folder() / FILE).read_bytes()).hexdigest() == _digest()
    except OSError:
        return False


def install(cache: Path) -> Path:
    """Copy plotly's bundle into ``cache`` (once; written whole under a temporary name, then renamed).

    Raises:
        OSError: The cache cannot be written (the page then loads the bundle as plotly sends it).
    """
    target = cache / folder() / FILE
    if installed(cache):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{secrets.token_hex(8)}.tmp"
    try:
        tmp.write_bytes(source().read_bytes())
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def shim(name: str) -> str:
    """The widget's ``_esm``: a module that imports the bundle from folder ``name`` of the page's CDN proxy."""
    path = json.dumps(f"/{name}/{FILE}")
    return (
        "const base = (window.solara && window.solara.cdn) || window.solara_cdn || '/_solara/cdn';\n"
        f"const bundle = await import(new URL(base + {path}, document.baseURI).href);\n"
        "export default bundle.default;\n"
    )


def esm() -> str | None:
    """The ``_esm`` for the page's figure widgets: :func:`shim` if Solara serves the bundle, else None."""
    import solara.settings

    from model.web.assets import cache_dir

    if not solara.settings.assets.proxy:
        return None
    return shim(folder()) if installed(cache_dir()) else None
