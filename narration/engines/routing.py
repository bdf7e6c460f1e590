"""Which engine speaks narration and which speaks dialogue.

A role set to "auto" goes to the installed engine that declares the role, is usable here
(`availability()`: weights found, its device present) and has the highest priority; the
embedded engine is always usable, so it is the fallback. What was passed over, and why, is
kept so the CLI can say it once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from narration.engines.registry import create_engine, engine_class, engine_names
from narration.errors import EngineError

AUTO = "auto"


@dataclass(frozen=True)
class Routing:
    narration: str
    dialogue: str
    passed_over: tuple[str, ...] = field(default=())  # "chattts (dialogue): no CUDA GPU"


def _candidates(role: str) -> list[str]:
    ranked = []
    for name in engine_names():
        try:
            cls = engine_class(name)
        except Exception:  # a broken plugin is listed by `narrate engines`, not routed to
            continue
        if role in cls.roles:
            ranked.append((-cls.priority, name))
    return [name for _, name in sorted(ranked)]


def resolve_routing(
    narration: str, dialogue: str, options: dict[str, dict[str, Any]] | None = None
) -> Routing:
    """`options` maps engine names to their options; under "auto" are options for whichever
    engine takes an "auto" role (a narrator prompt, say), which candidates are judged with."""
    options = options or {}
    for_auto = options.get(AUTO, {})
    chosen: dict[str, str] = {}
    passed: list[str] = []
    for role, choice in (("narration", narration), ("dialogue", dialogue)):
        if choice != AUTO:
            engine_class(choice)  # an unknown name is an error now, naming what is installed
            chosen[role] = choice
            continue
        for name in _candidates(role):
            candidate = {**for_auto, **options.get(name, {})}
            availability = create_engine(name, **candidate).availability()
            if availability.usable:
                chosen[role] = name
                break
            passed.append(f"{name} ({role}): {availability.reason}")
        else:
            raise EngineError(f"no installed engine can speak {role} here ({'; '.join(passed)})")
    return Routing(chosen["narration"], chosen["dialogue"], tuple(passed))
