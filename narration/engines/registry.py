"""Engine discovery through the `narration.engines` entry-point group.

An engine can also be named as `module:Class` (an Engine subclass importable here), which runs
a plugin that is not installed as a package, e.g. one of the test suite's engines.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from importlib.metadata import entry_points
from typing import Any

from narration.engines.base import Engine
from narration.errors import EngineError

ENTRY_POINT_GROUP = "narration.engines"


@lru_cache(maxsize=1)
def _entry_points() -> dict[str, Any]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def engine_names() -> list[str]:
    return sorted(_entry_points())


def _load_spec(name: str) -> Any:
    module_name, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def engine_class(name: str) -> type[Engine]:
    points = _entry_points()
    if name not in points and ":" not in name:
        known = ", ".join(sorted(points)) or "none"
        raise EngineError(f"unknown engine {name!r} (installed engines: {known})")
    try:
        cls = points[name].load() if name in points else _load_spec(name)
    except Exception as exc:  # a plugin's missing dependency must not be a traceback
        raise EngineError(f"engine {name!r} could not be imported: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Engine)):
        raise EngineError(f"entry point {name!r} does not name an Engine subclass")
    return cls


def create_engine(name: str, **options: Any) -> Engine:
    return engine_class(name)(**options)
