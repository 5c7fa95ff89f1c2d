"""Solara's front-end files for a page that reaches no CDN: fetched from the npm registry.

Solara's server loads the page's JavaScript and CSS from a public CDN (jsDelivr) at run time,
through a proxy that looks first in its own cache folder,
``<sys.prefix>/share/solara/cdn/<package>@<version>/`` (``solara.server.settings.assets
.proxy_cache_dir``). Planning offices with closed networks, and these machines, reach no CDN,
but often reach the npm registry (or a mirror of it): jsDelivr serves exactly the files of the
npm package, so unpacking the package's tarball into that folder makes the page work offline.

The packages and their exact versions are read from the installed Solara's own files (its page
template, settings and widgets), not written here, so that a Solara upgrade fetches what it asks
for. The tarballs come from ``npm pack`` where npm is installed, otherwise from the registry's
HTTP interface with urllib, checked against the registry's integrity hash, and are unpacked with
tarfile's ``data`` filter (no file outside the package folder, no links out).
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import re
import shutil
import subprocess
import tarfile
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

DEFAULT_REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 60  # per HTTP request
# Solara's files that name the front-end packages every page loads (template, settings, and the
# draggable grid of Mesa's SolaraViz); other files name packages only some components need.
PAGE_SOURCES = ("server/templates/solara.html.j2", "server/settings.py", "widgets/vue/gridlayout.vue")
SOURCE_GLOBS = ("widgets/vue/*.vue", "components/*.py", "components/*.vue")
# "<name>@<exact version>/" in a URL; a scoped name is "@scope/name". Version ranges (vega@5,
# used only by the Altair backend) are resolved by the CDN, so they have no fixed folder.
_PINNED = re.compile(r"/((?:@[a-z0-9][\w.-]*/)?[a-z0-9][\w.-]*)@(\d+\.\d+\.\d+(?:-[\w.]+)?)/")


class AssetError(Exception):
    """A package that could not be fetched or unpacked (the message says which and why)."""


@dataclass(frozen=True, order=True)
class Package:
    """One npm package at one exact version, as Solara's proxy names its folder."""

    name: str
    version: str

    @property
    def folder(self) -> str:
        """The folder of the package in Solara's cache (``name@version``)."""
        return f"{self.name}@{self.version}"

    def __str__(self) -> str:
        """``name@version``."""
        return self.folder


def solara_dir() -> Path:
    """The installed Solara package's folder (without importing Solara)."""
    spec = importlib.util.find_spec("solara")
    if spec is None or not spec.submodule_search_locations:
        raise AssetError("solara is not installed: pip install 'lifecircle[web]'")
    return Path(next(iter(spec.submodule_search_locations)))


def cache_dir() -> Path:
    """Solara's cache folder of CDN files, as the installed Solara computes it."""
    from solara.server import settings  # the path depends on where and how Solara is installed

    return Path(settings.assets.proxy_cache_dir)


def vuetify3_installed() -> bool:
    """Whether Solara will use its Vuetify 3 front end (ipyvuetify 3 or later installed)."""
    try:
        return int(metadata.version("ipyvuetify").split(".")[0]) >= 3
    except metadata.PackageNotFoundError:
        return False


def pinned_packages(root: Path | None = None, everything: bool = False, vuetify3: bool | None = None) -> list[Package]:
    """The front-end packages the installed Solara asks its CDN for, at their exact versions.

    Args:
        root: Solara's package folder (default: the installed one).
        everything: Also the packages only some components load (``solara.Markdown``'s mermaid
            and KaTeX, ...); by default only those of :data:`PAGE_SOURCES`, which every page
            loads.
        vuetify3: Which of Solara's two front ends: its Vuetify 3 app (True) or its Vuetify 2
            app (False); None: the one the installed ipyvuetify uses (:func:`vuetify3_installed`).

    Returns:
        Sorted packages, of the two front ends only the one chosen.
    """
    root = solara_dir() if root is None else root
    files = {p for pattern in SOURCE_GLOBS for p in root.glob(pattern)} if everything else set()
    files |= {root / name for name in PAGE_SOURCES}
    found = set()
    for path in files:
        if path.is_file():
            found |= {
                Package(*m.groups()) for m in _PINNED.finditer(path.read_text(encoding="utf-8", errors="replace"))
            }
    v3 = vuetify3_installed() if vuetify3 is None else vuetify3
    return sorted(p for p in found if ("vuetify3" in p.name) == v3 or "vuetify" not in p.name)


def missing(packages: list[Package], cache: Path) -> list[Package]:
    """The packages not yet unpacked in ``cache``."""
    return [p for p in packages if not (cache / p.folder / "package.json").is_file()]


def _registry_json(registry: str, name: str) -> dict:
    """The registry's abbreviated metadata of a package."""
    url = f"{registry.rstrip('/')}/{urllib.parse.quote(name, safe='@')}"
    request = urllib.request.Request(url, headers={"Accept": "application/vnd.npm.install-v1+json"})
    with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
        return json.load(response)


def _check_integrity(data: bytes, dist: dict, package: Package) -> None:
    """Raise AssetError unless the tarball matches the registry's sha512 (or, for old packages, sha1)."""
    integrity = dist.get("integrity", "")
    if integrity.startswith("sha512-"):
        expected = base64.b64decode(integrity.removeprefix("sha512-"))
        ok = hashlib.sha512(data).digest() == expected
    elif dist.get("shasum"):
        ok = hashlib.sha1(data).hexdigest() == dist["shasum"]
    else:
        raise AssetError(f"{package}: the registry gives no checksum for the tarball")
    if not ok:
        raise AssetError(f"{package}: the tarball does not match the registry's checksum")


def fetch_with_urllib(package: Package, registry: str = DEFAULT_REGISTRY) -> bytes:
    """The package's tarball from the registry's HTTP interface, checked against its integrity hash."""
    try:
        versions = _registry_json(registry, package.name).get("versions", {})
        if package.version not in versions:
            raise AssetError(f"{package}: the registry has no version {package.version}")
        dist = versions[package.version]["dist"]
        with urllib.request.urlopen(dist["tarball"], timeout=TIMEOUT_S) as response:
            data = response.read()
    except OSError as exc:  # URLError, HTTPError, timeouts
        raise AssetError(f"{package}: cannot reach the npm registry {registry} ({exc})") from None
    _check_integrity(data, dist, package)
    return data


def fetch_with_npm(package: Package, registry: str | None = None, npm: str = "npm") -> bytes:
    """The package's tarball by ``npm pack`` (npm's own registry, proxy and certificate settings)."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [npm, "pack", str(package), "--pack-destination", tmp, "--silent"]
        if registry:
            command += ["--registry", registry]
        done = subprocess.run(command, capture_output=True, text=True, timeout=10 * TIMEOUT_S)
        tarballs = list(Path(tmp).glob("*.tgz"))
        if done.returncode != 0 or len(tarballs) != 1:
            reason = (done.stderr.strip().splitlines() or ["no tarball written"])[-1]
            raise AssetError(f"{package}: npm pack failed: {reason}")
        return tarballs[0].read_bytes()


def _extract(tar: tarfile.TarFile, folder: Path) -> None:
    """Extract regular files and folders only, all inside ``folder``."""
    if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
        tar.extractall(folder, filter="data")
        return
    for member in tar.getmembers():  # the same rules by hand on older Pythons
        inside = (folder / member.name).resolve().is_relative_to(folder.resolve())
        if not inside or not (member.isfile() or member.isdir()):
            raise tarfile.TarError(f"unsafe member {member.name!r}")
    tar.extractall(folder)


def unpack(data: bytes, package: Package, cache: Path) -> Path:
    """Unpack a tarball's ``package/`` folder as ``cache/<name>@<version>/`` (complete, or not at all)."""
    target = cache / package.folder
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".unpack-") as tmp:
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
                _extract(tar, Path(tmp))
        except (tarfile.TarError, OSError) as exc:
            raise AssetError(f"{package}: cannot unpack the tarball ({exc})") from None
        folders = [p for p in Path(tmp).iterdir() if p.is_dir()]
        if len(folders) != 1 or not (folders[0] / "package.json").is_file():
            raise AssetError(f"{package}: the tarball holds no package folder with a package.json")
        if target.exists():
            shutil.rmtree(target)
        folders[0].rename(target)
    return target


def fill_cache(
    packages: list[Package],
    cache: Path,
    registry: str | None = None,
    use_npm: bool | None = None,
    report=print,
) -> list[Package]:
    """Fetch and unpack every package of ``packages`` that ``cache`` lacks.

    Args:
        packages: What to have (:func:`pinned_packages`).
        cache: Solara's cache folder (:func:`cache_dir`).
        registry: The npm registry (default: npm's configured one with npm, else
            :data:`DEFAULT_REGISTRY`).
        use_npm: ``npm pack`` (True), urllib (False), or npm where installed (None).
        report: Called with one line per package fetched.

    Returns:
        The packages fetched (those already there are left alone).
    """
    npm = shutil.which("npm") if use_npm is not False else None
    if use_npm and npm is None:
        raise AssetError("npm is not installed (leave out --npm to fetch with Python)")
    todo = missing(packages, cache)
    for package in todo:
        if npm:
            data = fetch_with_npm(package, registry, npm)
        else:
            data = fetch_with_urllib(package, registry or DEFAULT_REGISTRY)
        unpack(data, package, cache)
        report(f"  {package}: {len(data) / 1e6:.1f} MB")
    return todo
