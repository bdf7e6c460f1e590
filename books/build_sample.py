"""Build books/the-lighthouse-keeper.epub, the sample book, from the text below.

The text is original to this project. It is short (about four minutes of audio) but exercises
what matters: a TOC with real titles, dialogue, numbers, money, a year, abbreviations
(Mr., Mrs., Dr., St.), a scene break, and a cover image. Run: python books/build_sample.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from ebooklib import epub

TITLE = "The Lighthouse Keeper's Ledger"
AUTHOR = "Narration Project"
HERE = Path(__file__).resolve().parent

CHAPTERS: list[tuple[str, list[str]]] = [
    (
        "Chapter 1: The Ledger",
        [
            "In the winter of 1923, Mr. Tobias Wren took the post of keeper at Gull Point. "
            "The lamp stood 112 feet above the sea, and the stairs counted 214 steps.",
            "He kept a ledger. Every night he wrote the hour the lamp was lit, the state of "
            "the weather, and the ships that passed: 3 steamers, 2 schooners, and a fishing "
            "boat that never gave its name.",
            "“A keeper who does not write things down,” his father had told him, “is only a "
            "man with a lantern.”",
            "So Tobias wrote everything down. He wrote that the oil cost $4.50 a barrel, that "
            "the supply boat was 3 days late in January, and that the gulls, by his count, "
            "outnumbered him 2,000 to 1. He did not write down that he was lonely, because "
            "loneliness was not the kind of thing one kept in a ledger.",
        ],
    ),
    (
        "Chapter 2: A Visitor from St. Agnes",
        [
            "On the 14th of March, a boat came across from St. Agnes. Dr. Eleanor Marsh "
            "stepped onto the jetty with a leather bag and a look of great impatience.",
            "“You are Mr. Wren?” she asked. “I was told the keeper here is ill.”",
            "“I am perfectly well,” said Tobias. “Who told you otherwise?”",
            "“Mrs. Penhallow, at the post office. She said you had not collected your letters "
            "in 6 weeks.”",
            "Tobias laughed. “Mrs. Penhallow believes that a man who reads no letters must be "
            "dying. I simply have no one to write to.”",
            "* * *",
            "The doctor stayed for tea. She paid the boatman £2 and 10 shillings to wait, "
            "which he thought a fortune, and which it was.",
            "She asked about the lamp, and he showed her the great lens, 9 feet tall, cut "
            "from 1,008 pieces of glass. She asked about the ledger, and he showed her that "
            "too, though more slowly.",
            "“You have written down every ship for 7 years,” she said, turning the pages. "
            "“But you have not written down a single thing about yourself.”",
            "“There is nothing to write,” said Tobias.",
            "“Then you had better do something worth writing,” said Dr. Marsh, and she went "
            "down the 214 steps to her boat.",
        ],
    ),
    (
        "Chapter 3: The Storm",
        [
            "The storm arrived on the night of the 2nd of April. By 9 o'clock the wind had "
            "reached 70 miles an hour, and the rain came sideways against the glass.",
            "At 11:45 Tobias saw a light where no light should be: a small vessel, drifting "
            "toward the rocks below the point.",
            "He lit the second lamp, the one reserved for emergencies, and rang the bell "
            "until his arms ached. Slowly, the little vessel turned away.",
            "When the dawn came, grey and calm, he found a rope and a torn sail on the "
            "rocks, but no wreck. Whoever they were, they had got home.",
            "In the ledger he wrote: “Storm. One boat, unnamed, saved. Bell rung 300 times, "
            "approximately.”",
        ],
    ),
    (
        "Chapter 4: Letters",
        [
            "In May, a letter arrived. It was from Dr. Marsh, and it said that the fishing "
            "boat had been her brother's, and that he was home, and well, and grateful.",
            "“You see,” she wrote, “you have someone to write to after all.”",
            "Tobias read it twice. Then he took a fresh page of the ledger, and began, for "
            "the first time in 12 years, a letter of his own.",
        ],
    ),
]


def _cover_png(width: int = 300, height: int = 450) -> bytes:
    """A plain two-tone cover (sea and sky with a lighthouse beam), written without Pillow."""
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type 0 for each scanline
        for x in range(width):
            if abs(x - width // 2) < 12 and y > height // 3:
                pixel = (236, 232, 220)  # the tower
            elif y < height * 2 // 3:
                pixel = (24, 38, 72)  # night sky
            else:
                pixel = (18, 70, 96)  # sea
            row.extend(pixel)
        rows.append(bytes(row))

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + chunk(b"IEND", b"")
    )


def _chapter_xhtml(title: str, paragraphs: list[str]) -> str:
    body = [f"<h1>{title}</h1>"]
    for text in paragraphs:
        body.append("<hr/>" if text == "* * *" else f"<p>{text}</p>")
    return "\n".join(body)


def build(target: Path = HERE / "the-lighthouse-keeper.epub") -> Path:
    book = epub.EpubBook()
    book.set_identifier("urn:narration:sample:lighthouse-keeper")
    book.set_title(TITLE)
    book.set_language("en")
    book.add_author(AUTHOR)
    book.set_cover("cover.png", _cover_png())
    items = []
    for number, (title, paragraphs) in enumerate(CHAPTERS, start=1):
        item = epub.EpubHtml(title=title, file_name=f"chapter-{number}.xhtml", lang="en")
        item.content = _chapter_xhtml(title, paragraphs)
        book.add_item(item)
        items.append(item)
    book.toc = [epub.Link(i.file_name, i.title, f"ch{n}") for n, i in enumerate(items, 1)]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", *items]
    epub.write_epub(str(target), book)
    return target


if __name__ == "__main__":
    print(build())
