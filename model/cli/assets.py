"""``lifecircle assets``: fill Solara's cache of front-end files from the npm registry (offline pages).

The browser page (``lifecircle serve``) needs a few JavaScript and CSS packages that Solara
otherwise loads from a public CDN at run time; this command fetches them once, so that the page
works where no CDN can be reached (model/web/assets.py explains how).
"""

from __future__ import annotations

import argparse

from model.cli.common import BadArgument


def add_parser(sub) -> None:
    """The ``assets`` subcommand's arguments."""
    p = sub.add_parser(
        "assets",
        help="fetch the browser page's front-end files from the npm registry into Solara's cache (for offline use)",
    )
    p.add_argument("--registry", help="npm registry URL (default: npm's configured one, or https://registry.npmjs.org)")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--npm", dest="use_npm", action="store_true", default=None, help="fetch with npm pack")
    how.add_argument("--no-npm", dest="use_npm", action="store_false", help="fetch with Python's urllib, not npm")
    p.add_argument(
        "--all", dest="everything", action="store_true", help="also the packages only some Solara components load"
    )
    p.add_argument("--list", action="store_true", help="only list the packages and whether they are in the cache")
    p.set_defaults(func=cmd_assets)


def cmd_assets(args: argparse.Namespace) -> int:
    """List or fetch the packages the installed Solara asks for."""
    from model.web import assets, widget_bundle

    try:
        packages = assets.pinned_packages(everything=args.everything)
        cache = assets.cache_dir()
    except (assets.AssetError, ImportError) as exc:
        raise BadArgument(f"assets: {exc}") from None
    absent = set(assets.missing(packages, cache))
    if args.list:
        for p in packages:
            print(f"{p}: {'missing' if p in absent else 'in the cache'}")
        print(f"{widget_bundle.folder()}: {'in the cache' if widget_bundle.installed(cache) else 'missing'}")
        print(f"cache: {cache}")
        return 0
    try:
        widget_bundle.install(cache)  # plotly's, from the installed package: no download
    except OSError as exc:
        raise BadArgument(f"assets: cannot write plotly's widget bundle into {cache} ({exc.strerror or exc})") from None
    if not absent:
        print(f"all {len(packages)} front-end packages are in {cache}")
        return 0
    print(f"fetching {len(absent)} front-end package(s) into {cache}:")
    try:
        assets.fill_cache(packages, cache, registry=args.registry, use_npm=args.use_npm)
    except assets.AssetError as exc:
        raise BadArgument(f"assets: {exc}") from None
    print("done: the browser page needs no CDN now")
    return 0
