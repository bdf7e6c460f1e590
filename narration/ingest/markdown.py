"""Markdown -> Book: chapters at the heading level that repeats; markup stripped, text kept.

Front matter (`---` YAML-style block) gives title and author. A single top-level heading at
the start is the book title and the next level down holds the chapters. Footnotes
(`[^id]` with `[^id]: text` definitions) follow the same notes policy as EPUB.
"""

from __future__ import annotations

import re
from pathlib import Path

from narration.ingest.text import _book, _strip_emphasis, _title_from_stem
from narration.model import Block, BlockKind

_ATX = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_HR = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_FOOTDEF = re.compile(r"^\[\^([^\]]+)\]:\s*(.*)$")
_FOOTREF = re.compile(r"\[\^([^\]]+)\]")
_LIST = re.compile(r"^\s*([-*+]|\d+[.)])\s+")


def _front_matter(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    if not lines or lines[0].strip() != "---":
        return {}, lines
    for i in range(1, min(len(lines), 200)):
        if lines[i].strip() in ("---", "..."):
            meta = {}
            for line in lines[1:i]:
                m = re.match(r"^\s*(\w+)\s*:\s*(.+?)\s*$", line)
                if m:
                    meta[m.group(1).lower()] = m.group(2).strip("'\"")
            return meta, lines[i + 1 :]
    return {}, lines


def _inline(text: str) -> str:
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images: alt text is not read
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # links keep their text
    text = re.sub(r"\[([^\]]+)\]\[[^\]]*\]", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML tags
    return _strip_emphasis(text)


def _scan(lines: list[str]) -> list[tuple[str, int, str]]:
    """Tokens: ("h", level, text), ("p", 0, text), ("break", 0, ""), ("fn", 0, "id\ttext")."""
    tokens: list[tuple[str, int, str]] = []
    para: list[str] = []
    in_fence = False

    def flush() -> None:
        if para:
            tokens.append(("p", 0, " ".join(" ".join(para).split())))
            para.clear()

    for line in lines:
        if _FENCE.match(line):
            flush()
            in_fence = not in_fence
            continue
        if in_fence:
            continue  # code is not narrated
        stripped = line.strip()
        atx = _ATX.match(stripped)
        if atx:
            flush()
            tokens.append(("h", len(atx.group(1)), atx.group(2)))
        elif _SETEXT.match(stripped) and len(para) == 1:
            tokens.append(("h", 1 if stripped[0] == "=" else 2, para[0].strip()))
            para.clear()
        elif _HR.match(line):
            flush()
            tokens.append(("break", 0, ""))
        elif not stripped:
            flush()
        elif _FOOTDEF.match(stripped):
            flush()
            m = _FOOTDEF.match(stripped)
            assert m is not None
            tokens.append(("fn", 0, f"{m.group(1)}\t{m.group(2)}"))
        elif _LIST.match(line):
            flush()
            para.append(_LIST.sub("", line))
        else:
            para.append(re.sub(r"^\s*>\s?", "", line))
    flush()
    return tokens


def read_markdown(path: Path, text: str, *, include_front_matter: bool, notes: str):
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    meta, lines = _front_matter(lines)
    tokens = _scan(lines)
    footnotes = {
        t[2].split("\t", 1)[0]: _inline(t[2].split("\t", 1)[1]) for t in tokens if t[0] == "fn"
    }
    tokens = [t for t in tokens if t[0] != "fn"]

    title = meta.get("title", "")
    author = meta.get("author", "")
    levels = [t[1] for t in tokens if t[0] == "h"]
    if levels and tokens[0][0] == "h" and levels.count(min(levels)) == 1 and len(levels) > 1:
        title = title or _inline(tokens[0][2])
        tokens = tokens[1:]
        levels = levels[1:]
    if not author:  # "by Author" straight after the title
        first_p = next((t for t in tokens if t[0] == "p"), None)
        if (
            first_p
            and re.match(r"^by\s+\S.{0,80}$", first_p[2], re.I)
            and tokens.index(first_p) == 0
        ):
            author = re.sub(r"^by\s+", "", first_p[2], flags=re.I)
            tokens.remove(first_p)
    chapter_level = min(levels) if levels else None

    sections: list[tuple[str | None, list[Block]]] = [(None, [])]
    end_notes: list[str] = []
    for kind, level, value in tokens:
        blocks = sections[-1][1]
        if kind == "h" and level == chapter_level:
            _flush_end_notes(blocks, end_notes, footnotes)
            sections.append((_inline(value), []))
        elif kind == "h":
            blocks.append(Block(_inline(value), BlockKind.HEADING))
        elif kind == "break":
            blocks.append(Block("", BlockKind.SECTION_BREAK))
        else:
            refs = _FOOTREF.findall(value)
            body = " ".join(_inline(_FOOTREF.sub("", value)).split())
            if body:
                blocks.append(Block(body))
            for ref in refs:
                if ref in footnotes and notes == "inline":
                    blocks.append(Block(f"Note: {footnotes[ref]}", BlockKind.NOTE))
                elif ref in footnotes and notes == "chapter-end" and ref not in end_notes:
                    end_notes.append(ref)
    _flush_end_notes(sections[-1][1], end_notes, footnotes)
    if len(sections) == 1:
        sections = [(title or _title_from_stem(path), sections[0][1])]
    return _book(path, title or _title_from_stem(path), author or "Unknown", sections,
                 include_front_matter)  # fmt: skip


def _flush_end_notes(blocks: list[Block], refs: list[str], footnotes: dict[str, str]) -> None:
    for ref in refs:
        blocks.append(Block(f"Note: {footnotes[ref]}", BlockKind.NOTE))
    refs.clear()
