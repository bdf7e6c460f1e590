"""Voice prompts: a short clip and its exact transcript, for engines that clone a voice.

A clip is kept by the sha256 of its bytes under the prompts folder (beside the weights), so a
voice names its prompt by content: moving or renaming the user's file changes nothing, and a
segment key (which hashes the voice's params) changes only when the clip or its transcript
does. Engines find the clip again with `prompt_path(sha)`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from narration.atomic import atomic_write_bytes
from narration.errors import InputError
from narration.model import Voice


def prompts_dir() -> Path:
    from narration.config import weights_root

    return weights_root().parent / "prompts"


def register_prompt(clip: str | Path) -> str:
    """Keep a copy of `clip` under its content hash; returns the hash."""
    clip = Path(clip)
    try:
        data = clip.read_bytes()
    except OSError as exc:
        raise InputError(clip, f"cannot read the voice prompt: {exc.strerror or exc}") from None
    sha = hashlib.sha256(data).hexdigest()
    target = prompt_path(sha, clip.suffix.lower() or ".wav")
    if not target.is_file():
        atomic_write_bytes(target, data)
    return sha


def prompt_path(sha: str, suffix: str | None = None) -> Path:
    """Where the clip with this hash is kept (any suffix it was registered with)."""
    folder = prompts_dir()
    if suffix is None:
        found = sorted(folder.glob(f"{sha}.*"))
        if found:
            return found[0]
        suffix = ".wav"
    return folder / f"{sha}{suffix}"


def prompt_voice(
    engine: str, sha: str, transcript: str, name: str = "", instruct: str = ""
) -> Voice:
    """A cloned voice: the clip by content hash, its transcript, and an optional style
    instruction ("calm, warm storyteller") for engines that take one."""
    params: list[tuple[str, str]] = [("prompt_sha256", sha), ("prompt_text", transcript)]
    if instruct:
        params.append(("instruct", instruct))
    return Voice(engine=engine, model_id=engine, name=name or f"{engine}-{sha[:8]}",
                 params=tuple(sorted(params)))  # fmt: skip
