"""Turn one XHTML content document into a flat stream of blocks and markers.

The stream keeps reading order and carries three kinds of marker besides blocks:
`Split` where a TOC entry points into the document (so one big file can become many
chapters), `Skip` where front/back matter was left out, and `NoteRefs` after a block that
referenced notes (so the notes policy can place their bodies). Text is kept as written,
apart from whitespace: speech normalisation is a later stage's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

from narration.ingest.epub_toc import epub_types
from narration.ingest.matter import matter_from_types
from narration.ingest.notes import NoteIndex, local
from narration.model import Block, BlockKind


@dataclass
class Split:
    anchor: str  # id of the element a TOC entry points at


@dataclass
class Skip:
    reason: str
    title: str


@dataclass
class NoteRefs:
    keys: list[str]  # `file#id` of notes referenced by the block just before


Item = Block | Split | Skip | NoteRefs

IGNORED = {
    "head", "script", "style", "rt", "rp", "img", "svg", "math", "video", "audio", "object",
    "iframe", "embed", "canvas", "template", "map", "input", "button", "select", "textarea",
    "title", "meta", "link", "noscript",
}  # fmt: skip
BLOCKS = {
    "p", "div", "section", "article", "main", "body", "header", "footer", "h1", "h2", "h3",
    "h4", "h5", "h6", "blockquote", "li", "ul", "ol", "dl", "dt", "dd", "pre", "figure",
    "figcaption", "hgroup", "address", "details", "summary", "center", "nav", "aside",
    "caption", "html", "table", "tr", "td", "th", "tbody", "thead", "tfoot",
}  # fmt: skip
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
VERSE_MARKS = {
    "poem", "poetry", "verse", "stanza", "linegroup", "line-group", "lg", "song", "lyrics",
    "hymn", "z3998:poem", "z3998:verse", "z3998:song", "z3998:hymn", "z3998:lyrics",
}  # fmt: skip
LINE_CLASSES = {"line", "l", "verse-line", "poem-line"}
DROP_CLASSES = re.compile(r"^(lnum|linenum|line-?number|pagenum|page-?number|pg?num)$")
# Empty elements with these classes mark a scene break; "page-break" classes are print layout.
BREAK_CLASSES = re.compile(r"^(?!.*page).*(break|scene|separator|transition|dinkus|ornament)")
BREAK_TEXT = re.compile(r"^[\s*⁂•·∙~#§◊◇♦❦✻✱✦○●—–\-_=.]{1,20}$")
SPEAKER_CLASSES = re.compile(r"speaker|persona|character|charname|speech-?prefix")
SPEAKER_LINE = re.compile(r"^([A-Z][A-Z'’.\- ]{0,30}[A-Z.])\s*:\s+(\S.*)$")
NOT_SPEAKERS = {"NOTE", "N.B.", "NB", "P.S.", "PS", "WARNING", "TIP", "Q", "A", "AND"}
_EMPTY_BRACKETS = re.compile(r"\s*\[\s*\]|\s*\(\s*\)")


def _classes(el: etree._Element) -> set[str]:
    return set((el.get("class") or "").lower().split())


@dataclass
class _Ctx:
    verse: bool = False


@dataclass
class Walker:
    """Walks one document; `items` is the result."""

    doc_href: str
    split_ids: set[str]
    notes: NoteIndex
    include_matter: bool
    items: list[Item] = field(default_factory=list)
    _buf: list[str] = field(default_factory=list)
    _refs: list[str] = field(default_factory=list)

    # --- output ---------------------------------------------------------------------------

    def _flush(self, kind: BlockKind, speaker: str | None = None) -> None:
        text = " ".join("".join(self._buf).split())
        self._buf.clear()
        if self._refs:
            text = _EMPTY_BRACKETS.sub("", text).strip()
        if text:
            # "* * *", "⁂" ... stand for a scene break; a lone "..." or "---" is kept as text.
            is_break = kind != BlockKind.HEADING and BREAK_TEXT.match(text)
            if is_break and any(c not in ".-_=" for c in text.replace(" ", "")):
                self._section_break()
                self._refs.clear()
                return
            if speaker is None and kind == BlockKind.PARAGRAPH:
                match = SPEAKER_LINE.match(text)
                if match and match.group(1).strip() not in NOT_SPEAKERS:
                    speaker, text = match.group(1).strip(), match.group(2)
            if speaker:
                kind = BlockKind.SPEAKER_TURN
                text = text.lstrip(".:—– ") or text  # "<b>HAMLET</b>. Words" -> "Words"
            self.items.append(Block(text, kind, speaker))
        if self._refs:
            self.items.append(NoteRefs(list(self._refs)))
            self._refs.clear()

    def _section_break(self) -> None:
        self.items.append(Block("", BlockKind.SECTION_BREAK))

    # --- walking --------------------------------------------------------------------------

    def run(self, root: etree._Element) -> list[Item]:
        body = next((el for el in root.iter() if local(el) == "body"), root)
        self._walk(body, _Ctx())
        self._flush(BlockKind.PARAGRAPH)
        return self.items

    def _kind(self, ctx: _Ctx) -> BlockKind:
        return BlockKind.VERSE_LINE if ctx.verse else BlockKind.PARAGRAPH

    def _walk(self, el: etree._Element, ctx: _Ctx) -> None:
        name = local(el)
        if not name or name in IGNORED:
            return
        el_id = el.get("id")
        if el_id and el_id in self.split_ids:
            self._flush(self._kind(ctx))
            self.items.append(Split(el_id))
        types = epub_types(el)
        classes = _classes(el)
        if (
            "pagebreak" in types
            or any(DROP_CLASSES.match(c) for c in classes)
            or el.get("hidden") is not None
            or el.get("aria-hidden") == "true"
            or re.search(r"display\s*:\s*none", el.get("style") or "")
            or el in self.notes.elements
        ):
            return
        reason = None if self.include_matter else matter_from_types(types)
        if reason and name not in ("a", "span"):
            self._skip(el, reason)
            return
        if name == "a":
            key = self.notes.is_noteref(self.doc_href, el)
            if key is not None:
                if key:
                    self._refs.append(key)
                return
        if name == "br":
            if ctx.verse:
                self._flush(BlockKind.VERSE_LINE)
            else:
                self._buf.append(" ")
            return
        if name == "hr":
            self._flush(self._kind(ctx))
            self._section_break()
            return
        if name == "table":
            self._flush(self._kind(ctx))
            self._table(el, ctx)
            return
        is_line = ctx.verse and name == "span" and classes & LINE_CLASSES
        if name not in BLOCKS and not is_line:
            self._inline(el, ctx)
            return
        self._flush(self._kind(ctx))
        inner = _Ctx(verse=ctx.verse or self._is_verse(el, name, types, classes))
        speaker = self._speaker_label(el) if name in ("p", "div") and not inner.verse else None
        self._inline(el, inner, skip_first=speaker is not None)
        kind = BlockKind.HEADING if name in HEADINGS else self._kind(inner)
        empty = not "".join(self._buf).strip() and not any(local(c) in BLOCKS for c in el)
        if empty and BREAK_CLASSES.search(el.get("class") or ""):
            self._buf.clear()
            self._section_break()  # an empty <div class="scene-break"/> and the like
            return
        self._flush(kind, speaker[0] if speaker else None)

    def _inline(self, el: etree._Element, ctx: _Ctx, skip_first: bool = False) -> None:
        if el.text and not skip_first:
            self._buf.append(el.text)
        for i, child in enumerate(el):
            if not (skip_first and i == 0):
                self._walk(child, ctx)
            if child.tail:
                self._buf.append(child.tail)

    def _is_verse(self, el: etree._Element, name: str, types: set[str], classes: set[str]) -> bool:
        if (types | classes) & VERSE_MARKS:
            return True
        # Several <br/> directly inside one paragraph: lines, not run-on prose.
        if name in ("p", "div") and sum(1 for c in el if local(c) == "br") >= 2:
            return not any(local(c) in BLOCKS for c in el)
        return False

    def _speaker_label(self, el: etree._Element) -> tuple[str] | None:
        """A play's `<b>HAMLET</b> text` or `<span class="speaker">` opening a paragraph."""
        if (el.text or "").strip() or len(el) == 0:
            return None
        first = el[0]
        if local(first) not in ("b", "strong", "span", "em", "i", "abbr"):
            return None
        marked = SPEAKER_CLASSES.search(first.get("class") or "") or "persona" in epub_types(first)
        label = " ".join("".join(first.itertext()).split()).rstrip(".:").strip()
        rest = ((first.tail or "") + "".join("".join(c.itertext()) for c in el[1:])).strip()
        if not label or not rest or len(label) > 40 or len(label.split()) > 4:
            return None
        if marked or (label.isupper() and local(first) in ("b", "strong")):
            return (label,)
        return None

    def _skip(self, el: etree._Element, reason: str) -> None:
        self._flush(BlockKind.PARAGRAPH)
        heading = next((h for h in el.iter() if local(h) in HEADINGS), None)
        title = " ".join("".join(heading.itertext()).split()) if heading is not None else ""
        self.items.append(Skip(reason, title))
        # TOC targets inside the skipped part still mark positions, so later text is placed.
        for sub in el.iterdescendants():
            if isinstance(sub.tag, str) and sub.get("id") in self.split_ids:
                self.items.append(Split(sub.get("id", "")))
                self.items.append(Skip(reason, title))

    # --- tables: plays set out as speaker | speech -----------------------------------------

    def _cell_text(self, cell: etree._Element, ctx: _Ctx) -> str:
        saved, self._buf = self._buf, []
        self._inline(cell, ctx)
        text, self._buf = " ".join("".join(self._buf).split()), saved
        return text

    def _table(self, table: etree._Element, ctx: _Ctx) -> None:
        rows = [r for r in table.iter("{*}tr", "tr") if _nearest_table(r) is table]
        for row in rows:
            cells = [c for c in row if local(c) in ("td", "th")]
            texts = [self._cell_text(c, ctx) for c in cells]
            pairs = [(c, t) for c, t in zip(cells, texts, strict=True) if t]
            if not pairs:
                continue
            if len(pairs) >= 2 and _looks_like_speaker(pairs[0][1]):
                speech_cells = pairs[1:]
                speech = " ".join(t for _, t in speech_cells)
                if all(_is_direction(c, t) for c, t in speech_cells):
                    self.items.append(Block(speech, BlockKind.PARAGRAPH))
                else:
                    speaker = pairs[0][1].rstrip(".:").strip()
                    self.items.append(Block(speech, BlockKind.SPEAKER_TURN, speaker))
            else:
                self.items.append(Block(", ".join(t for _, t in pairs), BlockKind.PARAGRAPH))
            if self._refs:
                self.items.append(NoteRefs(list(self._refs)))
                self._refs.clear()


def _nearest_table(el: etree._Element) -> etree._Element | None:
    return next((a for a in el.iterancestors() if local(a) == "table"), None)


def _looks_like_speaker(text: str) -> bool:
    label = text.rstrip(".:").strip()
    return 0 < len(label) <= 40 and len(label.split()) <= 4 and not re.search(r"[,;!?\"“”]", label)


def _is_direction(cell: etree._Element, text: str) -> bool:
    """Stage directions: parenthesised, bracketed, marked, or set entirely in italics."""
    if (text.startswith("(") and text.endswith(")")) or (
        text.startswith("[") and text.endswith("]")
    ):
        return True
    if re.search(r"stage|direction", cell.get("class") or "") or "stage-direction" in str(
        epub_types(cell)
    ):
        return True
    loose = (cell.text or "") + "".join((c.tail or "") for c in cell)
    kids = [c for c in cell if isinstance(c.tag, str)]
    return bool(kids) and not loose.strip() and all(local(c) in ("i", "em") for c in kids)
