"""The Teams app package: the manifest rendered from configuration, its German strings and icons, zipped.

`deploy/manifest/manifest.template.json` holds the structure. `${{NAME}}` is replaced by a value
from the configuration, `${{t:key}}` by the English text of a catalogue key; the German file
(`de.json`) is made from the same keys, at the paths Teams lets a localization file override.
Command titles therefore are the very words the bot answers to, in both languages.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
import tempfile
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot.settings import Settings
from cards.i18n import Texts

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MANIFEST_FOLDER = PROJECT_ROOT / "deploy" / "manifest"
VALIDATOR = MANIFEST_FOLDER / "validate.mjs"
ICONS = {"color.png": (192, 192), "outline.png": (32, 32)}
ADDITIONAL_LANGUAGES = {"de": "de.json"}
_TOKEN = re.compile(r"\$\{\{([^}]+)\}\}")
# What a localization file may override (Teams' localization schema, v1.30: up to 12 commands a list; the activity
# feed's types, described and worded).
_LOCALIZABLE = re.compile(
    r"^(name\.(short|full)|description\.(short|full)"
    r"|bots\[0\]\.commandLists\[[0-2]\]\.commands\[([0-9]|1[01])\]\.(title|description)"
    r"|composeExtensions\[0\]\.commands\[\d\]\.(title|description)"
    r"|composeExtensions\[0\]\.commands\[\d\]\.parameters\[\d\]\.(title|description)"
    r"|activities\.activityTypes\[\d+\]\.(description|templateText))$"
)


class PackageProblem(Exception):
    """The configuration cannot make a valid package; the message says what to set."""


@dataclass(frozen=True)
class AppPackage:
    manifest: dict[str, Any]
    languages: dict[str, dict[str, Any]]  # file name -> localization file

    def zip_bytes(self) -> bytes:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("manifest.json", json.dumps(self.manifest, ensure_ascii=False, indent=2))
            for name, strings in self.languages.items():
                archive.writestr(name, json.dumps(strings, ensure_ascii=False, indent=2))
            for icon in ICONS:
                archive.write(MANIFEST_FOLDER / icon, icon)
        return buffer.getvalue()


def app_version() -> str:
    try:
        return installed_version("kambot")
    except PackageNotFoundError:
        return "0.0.0"


def _values(settings: Settings, version: str) -> dict[str, str]:
    try:
        app_id = str(uuid.UUID(settings.app_id))
    except ValueError:
        raise PackageProblem(
            f"KAMBOT_APP_ID must be the bot's app registration id (a GUID); it is {settings.app_id or 'empty'!r}"
        ) from None
    base = settings.public_base_url.rstrip("/")
    parts = urlsplit(base)
    if parts.scheme != "https" or not parts.hostname:
        raise PackageProblem(f"KAMBOT_PUBLIC_BASE_URL must be the bot's public https address; it is {base!r}")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise PackageProblem(f"the version must look like 1.2.3 (Teams wants it to grow with each upload): {version!r}")
    host = parts.netloc
    try:
        sso_client_id = str(uuid.UUID(settings.sso_client_id))
    except ValueError:
        raise PackageProblem(
            f"KAMBOT_TAB_SSO_CLIENT_ID must be the tabs' app registration id (a GUID): {settings.tab_sso_client_id!r}"
        ) from None
    return {
        "APP_ID": app_id,
        "VERSION": version,
        "BASE_URL": base,
        "PUBLIC_HOST": host,
        "DEVELOPER_NAME": settings.developer_name,
        "APP_NAME_EN": settings.app_name_en,
        "APP_NAME_DE": settings.app_name_de,
        "PRIVACY_URL": settings.privacy_url or f"{base}/privacy",
        "TERMS_URL": settings.terms_url or f"{base}/terms",
        "SSO_CLIENT_ID": sso_client_id,
        "SSO_RESOURCE": settings.tab_sso_application_id_uri or f"api://{host}/{sso_client_id}",
    }


def _render(node: Any, values: dict[str, str], t: Texts, path: str, keys: dict[str, str]) -> Any:
    """The template with every token replaced; `keys` collects the catalogue key behind each text's path."""
    if isinstance(node, dict):
        return {k: _render(v, values, t, f"{path}.{k}" if path else k, keys) for k, v in node.items()}
    if isinstance(node, list):
        return [_render(v, values, t, f"{path}[{i}]", keys) for i, v in enumerate(node)]
    if not isinstance(node, str):
        return node

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("t:"):
            keys[path] = name[2:]
            return t(name[2:], name=values[f"APP_NAME_{t.language.upper()}"])
        if name not in values:
            raise PackageProblem(f"the manifest template asks for {name!r}, which kambot does not know")
        return values[name]

    return _TOKEN.sub(replace, node)


def render_package(settings: Settings, version: str | None = None) -> AppPackage:
    template = json.loads((MANIFEST_FOLDER / "manifest.template.json").read_text(encoding="utf-8"))
    values = _values(settings, version or app_version())
    keys: dict[str, str] = {}
    manifest = _render(template, values, Texts("en"), "", keys)
    schema = manifest["$schema"].replace("MicrosoftTeams.schema.json", "MicrosoftTeams.Localization.schema.json")
    languages = {}
    for language, file_name in ADDITIONAL_LANGUAGES.items():
        t = Texts(language)
        name = values[f"APP_NAME_{language.upper()}"]
        strings = {path: t(key, name=name) for path, key in keys.items() if _LOCALIZABLE.match(path)}
        languages[file_name] = {"$schema": schema, **strings}
    return AppPackage(manifest, languages)


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _chunks(data: bytes) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    offset = 8
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        found[kind] = found.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    return found


def _has_transparency(data: bytes) -> bool:
    """True when the PNG has a pixel that is not fully opaque (Teams wants the outline icon transparent)."""
    size = _png_size(data)
    if size is None:
        return False
    chunks = _chunks(data)
    bit_depth, color_type = data[24], data[25]
    if color_type not in (4, 6) or bit_depth != 8:
        return b"tRNS" in chunks  # palette, grey or RGB images are transparent only through a tRNS chunk
    channels = 4 if color_type == 6 else 2
    width, height = size
    stride = width * channels
    raw = zlib.decompress(chunks.get(b"IDAT", b""))
    previous = bytearray(stride)
    for row in range(height):
        line = raw[row * (stride + 1) : (row + 1) * (stride + 1)]
        current = _unfilter(line[0], bytearray(line[1:]), previous, channels)
        if any(alpha < 255 for alpha in current[channels - 1 :: channels]):
            return True
        previous = current
    return False


def _unfilter(kind: int, line: bytearray, above: bytearray, step: int) -> bytearray:
    """Undo one PNG scanline filter (None, Sub, Up, Average, Paeth)."""
    for i in range(len(line)):
        left = line[i - step] if i >= step else 0
        up = above[i]
        corner = above[i - step] if i >= step else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            estimate = left + up - corner
            distances = (abs(estimate - left), abs(estimate - up), abs(estimate - corner))
            predictor = (left, up, corner)[distances.index(min(distances))]
            line[i] = (line[i] + predictor) & 0xFF
    return line


def _opened(archive: bytes) -> tuple[zipfile.ZipFile, dict[str, Any]] | str:
    """The package and its manifest, or why it cannot be read at all."""
    try:
        files = zipfile.ZipFile(io.BytesIO(archive))
    except zipfile.BadZipFile:
        return "the package is not a zip file"
    if "manifest.json" not in files.namelist():
        return "manifest.json is missing from the top of the package"
    try:
        return files, json.loads(files.read("manifest.json"))
    except ValueError as error:
        return f"manifest.json is not valid JSON: {error}"


def _package_problems(files: zipfile.ZipFile, manifest: dict[str, Any]) -> list[str]:
    """What Teams would refuse that the JSON schema does not check: files, icon sizes, ids, domains."""
    problems: list[str] = []
    names = set(files.namelist())
    for field in ("color", "outline"):
        name = (manifest.get("icons") or {}).get(field)
        if name not in names:
            problems.append(f"icons.{field}: {name!r} is not in the package")
            continue
        data = files.read(name)
        wanted = ICONS["color.png" if field == "color" else "outline.png"]
        if _png_size(data) != wanted:
            problems.append(f"icons.{field}: {name} must be a {wanted[0]}×{wanted[1]} PNG, it is {_png_size(data)}")
        if field == "outline" and _png_size(data) == wanted and not _has_transparency(data):
            problems.append(f"icons.outline: {name} must have a transparent background")
    for language in (manifest.get("localizationInfo") or {}).get("additionalLanguages") or []:
        if language.get("file") not in names:
            problems.append(f"localizationInfo: {language.get('file')!r} is not in the package")
    app_id = manifest.get("id")
    for index, bot in enumerate(manifest.get("bots") or []):
        if bot.get("botId") != app_id:
            problems.append(f"bots[{index}].botId differs from the app id {app_id}")
    domains = set(manifest.get("validDomains") or [])
    for tab in manifest.get("configurableTabs") or []:
        host = urlsplit(tab.get("configurationUrl", "")).netloc
        if host not in domains:
            problems.append(f"{tab.get('configurationUrl')}: its host {host} is not in validDomains")
    return problems


def node_validator() -> list[str] | None:
    """The command that runs Microsoft's validator, or None when Node.js or the npm packages are missing."""
    node = shutil.which("node")
    if node is None or not (PROJECT_ROOT / "node_modules" / "@microsoft" / "app-manifest").is_dir():
        return None
    return [node, str(VALIDATOR)]


def validate(archive: bytes) -> list[str]:
    """Microsoft's schema validation (npm @microsoft/app-manifest, offline) and the package checks above.

    Raises PackageProblem when the validator cannot run.
    """
    opened = _opened(archive)
    if isinstance(opened, str):
        return [opened]  # nothing the schema validator could read
    files, manifest = opened
    problems = _package_problems(files, manifest)
    command = node_validator()
    if command is None:
        raise PackageProblem("Node.js and the project's npm packages are needed to validate (run `make install-run`)")
    with tempfile.TemporaryDirectory(prefix="kambot-package-") as folder:
        files.extractall(folder)
        result = subprocess.run([*command, folder], capture_output=True, text=True, timeout=120, check=False)
    try:
        answer = json.loads(result.stdout)
    except ValueError:
        raise PackageProblem(f"the manifest validator did not run: {result.stderr.strip()[-500:]}") from None
    return problems + [f"{entry['file']}: {entry['error']}" for entry in answer["errors"]]
