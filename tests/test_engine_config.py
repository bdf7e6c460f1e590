"""The config file, voice prompts kept by content, and routing by availability."""

from __future__ import annotations

from conftest import SAMPLE_BOOK, run_narrate

from narration import config
from narration.engines import prompts
from narration.engines.routing import resolve_routing


def test_config_options_are_written_without_losing_the_users_lines(tmp_path, monkeypatch):
    path = tmp_path / "config.toml"
    path.write_text('# mine\n[engines]\ndialogue = "piper"  # keep\n', encoding="utf-8")
    monkeypatch.setenv("NARRATION_CONFIG", str(path))
    config._load.cache_clear()
    config.set_engine_options("cosyvoice3", {"python": "/env/bin/python", "source": "/src"})
    text = path.read_text(encoding="utf-8")
    assert "# mine" in text and 'dialogue = "piper"  # keep' in text
    assert config.engine_options("cosyvoice3") == {"python": "/env/bin/python", "source": "/src"}
    assert config.role_engine("dialogue") == "piper" and config.role_engine("narration") == "auto"
    config._load.cache_clear()


def test_a_prompt_is_kept_by_its_content_not_its_path(tmp_path, monkeypatch):
    monkeypatch.setenv("NARRATION_WEIGHTS", str(tmp_path / "data" / "weights"))
    monkeypatch.delenv("NARRATION_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    config._load.cache_clear()
    first, moved = tmp_path / "a.wav", tmp_path / "elsewhere" / "b.wav"
    first.write_bytes(b"RIFF-one")
    moved.parent.mkdir()
    moved.write_bytes(b"RIFF-one")
    sha = prompts.register_prompt(first)
    assert prompts.register_prompt(moved) == sha
    assert prompts.prompt_path(sha).read_bytes() == b"RIFF-one"
    one = prompts.prompt_voice("cosyvoice3", sha, "Hello there.")
    other = prompts.prompt_voice("cosyvoice3", sha, "Hello there!")
    assert one.fingerprint() != other.fingerprint()  # the transcript is part of the voice
    first.write_bytes(b"RIFF-two")
    assert prompts.register_prompt(first) != sha


def test_auto_routing_falls_back_to_a_usable_engine_and_says_why():
    routing = resolve_routing("auto", "auto", {"chattts": {"weights_dir": "/nowhere"}})
    assert (routing.narration, routing.dialogue) == ("piper", "piper")
    assert any(p.startswith("chattts (dialogue): no weights") for p in routing.passed_over)
    assert resolve_routing("piper", "chattts").dialogue == "chattts"  # named: no judging


def test_a_narrator_prompt_needs_an_engine_that_clones(tmp_path):
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF")
    result = run_narrate(
        SAMPLE_BOOK, "--narration-engine", "piper", "--narrator-prompt", clip,
        "--narrator-prompt-text", "Hello.", "--out", tmp_path,
    )  # fmt: skip
    assert result.returncode == 2 and "does not clone voices" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_engine_that_needs_a_prompt_says_so_in_one_line(tmp_path):
    config_file = tmp_path / "config.toml"
    config_file.write_text("")
    result = run_narrate(
        SAMPLE_BOOK, "--narration-engine", "cosyvoice3", "--out", tmp_path,
        env={"NARRATION_CONFIG": str(config_file)},
    )  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--narrator-prompt" in lines[0]
    assert "[engines.cosyvoice3]" in result.stderr  # text, not swallowed as markup
