"""Where the client finds its server and token: ``SHUYU_URL`` / ``SHUYU_TOKEN``, else a saved profile.

``shuyu login`` saves profiles in ``$XDG_CONFIG_HOME/shuyu/profiles.json`` (default ``~/.config``), a file
only its owner may read (mode 0600), because a token is a password. ``SHUYU_PROFILE`` picks a profile.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from shuyu.errors import ShuyuError

DEFAULT = "default"


def path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "shuyu" / "profiles.json"


def _load() -> dict[str, dict[str, str]]:
    file = path()
    if not file.exists():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ShuyuError(f"{file} is not valid JSON: fix or delete it, then run `shuyu login`") from error
    profiles = data.get("profiles") if isinstance(data, dict) else None
    return profiles if isinstance(profiles, dict) else {}


def save(url: str, token: str, name: str = DEFAULT) -> Path:
    """Store (or replace) a profile; the file is created with mode 0600 and never widened."""
    profiles = _load()
    profiles[name] = {"url": url.rstrip("/"), "token": token}
    file = path()
    file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"profiles": profiles}, out, indent=2)
    os.chmod(tmp, 0o600)
    os.replace(tmp, file)
    return file


def resolve(name: str | None = None) -> tuple[str, str]:
    """The URL and token to use: the environment wins over the profile, field by field."""
    name = name or os.environ.get("SHUYU_PROFILE") or DEFAULT
    saved = _load().get(name, {})
    url = os.environ.get("SHUYU_URL") or saved.get("url")
    token = os.environ.get("SHUYU_TOKEN") or saved.get("token")
    if not url or not token:
        missing = " and ".join(n for n, v in (("SHUYU_URL", url), ("SHUYU_TOKEN", token)) if not v)
        raise ShuyuError(f"no {missing}: set it in the environment or run `shuyu login` first")
    return url, token
