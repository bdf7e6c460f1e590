"""The user's configuration file: which engine speaks what, engine options, the weights folder.

Found at $NARRATION_CONFIG, else ~/.config/narration/config.toml (XDG_CONFIG_HOME honoured);
a missing file means defaults. Command-line options win over the file.

    [engines]
    narration = "auto"        # or an engine name: piper, chattts, ...
    dialogue = "auto"
    weights_dir = "~/models"  # engines' weights go to <weights_dir>/<engine>

    [engines.chattts]         # options handed to that engine
    device = "cuda"
"""

from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from narration.errors import InputError

_ROLE_KEYS = ("narration", "dialogue")


def config_path() -> Path:
    explicit = os.environ.get("NARRATION_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    root = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(root) / "narration" / "config.toml"


@lru_cache(maxsize=4)
def _load(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, f"not valid TOML: {exc}") from None
    engines = data.get("engines", {})
    if not isinstance(engines, dict):
        raise InputError(path, "[engines] must be a table")
    for key, value in engines.items():
        if key in _ROLE_KEYS or key == "weights_dir":
            if not isinstance(value, str):
                raise InputError(path, f"engines.{key}: must be a string, not {value!r}")
        elif not isinstance(value, dict):
            raise InputError(path, f"engines.{key}: must be a table of that engine's options")
    return data


def load_config() -> dict[str, Any]:
    return _load(config_path())


def role_engine(role: str) -> str:
    """The engine the config file names for a role ("auto" when it names none)."""
    return str(load_config().get("engines", {}).get(role, "auto"))


def engine_options(name: str) -> dict[str, Any]:
    """The options the config file gives an engine ([engines.<name>])."""
    value = load_config().get("engines", {}).get(name, {})
    return dict(value) if isinstance(value, dict) else {}


def weights_root() -> Path:
    """Where engines keep downloaded weights: [engines] weights_dir, $NARRATION_WEIGHTS, or
    ~/.local/share/narration/weights."""
    configured = load_config().get("engines", {}).get("weights_dir")
    if configured:
        return Path(configured).expanduser()
    if os.environ.get("NARRATION_WEIGHTS"):
        return Path(os.environ["NARRATION_WEIGHTS"]).expanduser()
    root = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(root) / "narration" / "weights"


def set_engine_options(name: str, values: dict[str, Any]) -> Path:
    """Write `values` into [engines.<name>] of the config file, keeping everything else in it
    (comments and order too: tomlkit); returns the file's path."""
    import tomlkit

    from narration.atomic import atomic_write_text

    path = config_path()
    try:
        document = tomlkit.parse(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        document = tomlkit.document()
    engines = document.setdefault("engines", tomlkit.table())
    table = engines.setdefault(name, tomlkit.table())
    for key, value in values.items():
        table[key] = value
    atomic_write_text(path, tomlkit.dumps(document))
    _load.cache_clear()
    return path
