"""Quotation groups: one per speaker turn within a paragraph.

find_quotations joins the pieces of an interrupted quotation; a paragraph may still hold
several quotations (`"Yes." Then, turning to Jane, "...," said she.`). For attribution they
are joined into one paragraph turn and split again only where their tags name different
people (`"Yes," said Five. "No," said Seven.`), so a tag serves every piece it belongs to.
"""

from __future__ import annotations

from narration.cast.context import Context
from narration.cast.quotes import Quotation
from narration.cast.tags import Tag, tag_after, tag_before


def _signature(ctx: Context, tag: Tag | None) -> tuple[str, object] | None:
    """What a tag tells about identity without full resolution: a name, or a gender."""
    if tag is None:
        return None
    if tag.kind == "name":
        found = ctx.index.lookup(tag.mention)
        return ("name", found if found is not None else tag.mention.lower())
    if tag.kind == "pronoun" and tag.mention.lower() in ("he", "she"):
        return ("gender", "M" if tag.mention.lower() == "he" else "F")
    return None


def _conflict(ctx: Context, a: tuple[str, object], b: tuple[str, object]) -> bool:
    def gender(sig: tuple[str, object]) -> str:
        if sig[0] == "gender":
            return str(sig[1])
        return ctx.index.gender(sig[1]) if isinstance(sig[1], int) else "U"

    if a[0] == "name" and b[0] == "name":
        return a[1] != b[1]
    ga, gb = gender(a), gender(b)
    return "U" not in (ga, gb) and ga != gb


def split_by_speaker(ctx: Context, q: Quotation, prev_end: int, next_start: int) -> list[Quotation]:
    """Split a paragraph's quotation where its pieces are tagged with different people
    (`"Yes," said Five. "No," said Seven.`, `"Stupid!" Alice began, but the Rabbit cried
    out, "Silence!"`). A tag right after a piece is that piece's; the last speech tag of a
    gap is the next piece's when it names someone else. A piece without a tag goes with
    the one before it (`"Well," said he, "I think..."`)."""
    if len(q.pieces) < 2 or q.style == "script":
        return [q]
    text = ctx.text
    owners: list[tuple[str, object] | None] = []
    for k, (s, e) in enumerate(q.pieces):
        para = q.paragraphs[k] if k < len(q.paragraphs) else q.paragraphs[-1]
        p_start, p_end = ctx.paragraphs[para]
        limit = min(q.pieces[k + 1][0] if k + 1 < len(q.pieces) else next_start, p_end)
        lead_from = max(q.pieces[k - 1][1] if k else prev_end, p_start)
        before = tag_before(text, lead_from, s) if s > lead_from else None
        if k and before is not None:
            previous_after = tag_after(text, q.pieces[k - 1][1], s)
            if previous_after is not None and previous_after.start == before.start:
                before = None  # `"Well," said he, "I think"`: the tag was the last piece's
        owner = _signature(ctx, before) or _signature(ctx, tag_after(text, e, limit))
        owners.append(owner)
    groups: list[list[int]] = []
    current: tuple[str, object] | None = None
    for k, owner in enumerate(owners):
        if groups and not (owner and current and _conflict(ctx, owner, current)):
            groups[-1].append(k)
        else:
            groups.append([k])
        if owner is not None:
            current = owner
    if len(groups) == 1:
        return [q]
    parts = []
    for group in groups:
        pieces = [q.pieces[k] for k in group]
        joined = " ".join(text[s:e] for s, e in pieces)
        paragraphs = [q.paragraphs[k] for k in group if k < len(q.paragraphs)]
        parts.append(Quotation(pieces, joined, q.style, q.label, paragraphs))
    return parts


def paragraph_groups(text: str, quotations: list[Quotation]) -> list[Quotation]:
    """One quotation per paragraph turn: quotations sharing a paragraph are joined, then
    split again only where their tags name different people (_split_by_speaker), so
    `"Yes." Then, turning to Jane, "...," said she.` keeps the tag for both parts."""
    groups: list[Quotation] = []
    for q in quotations:
        prev = groups[-1] if groups else None
        if (
            prev is not None
            and q.style == prev.style != "script"
            and len(set(q.paragraphs)) == 1
            and prev.paragraphs[-1:] == q.paragraphs[:1]
        ):
            pieces = prev.pieces + q.pieces
            joined = " ".join(text[s:e] for s, e in pieces)
            groups[-1] = Quotation(pieces, joined, q.style, None, prev.paragraphs + q.paragraphs)
        else:
            groups.append(q)
    return groups
