"""Hostile and broken input: every case must end in a one-line InputError, never a crash,
a hang, a huge allocation or a read outside the archive. Fixtures are built here in tmp_path.
"""

from __future__ import annotations

import os
import socket
import struct
import time
import zipfile
from pathlib import Path

import pytest

from narration.errors import InputError
from narration.ingest import read_book
from narration.model import BlockKind

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/>
  </rootfiles></container>"""

OPF = """<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="id">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="id">test-book</dc:identifier>
    <dc:title>Test Book</dc:title>
    <dc:creator>Ann Author</dc:creator>
    <dc:language>en</dc:language>
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    <item id="c1" href="c1.xhtml" media-type="application/xhtml+xml"/>
    <item id="c2" href="c2.xhtml" media-type="application/xhtml+xml"/>
  </manifest>
  <spine><itemref idref="c1"/><itemref idref="c2"/></spine>
</package>"""

NAV = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops">
<head><title>Nav</title></head><body><nav epub:type="toc"><ol>
<li><a href="c1.xhtml">The First</a></li><li><a href="c2.xhtml">The Second</a></li>
</ol></nav></body></html>"""


def chapter(body: str, prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n') -> str:
    return (
        f'{prolog}<html xmlns="http://www.w3.org/1999/xhtml" '
        'xmlns:epub="http://www.idpf.org/2007/ops"><head><title>t</title></head>'
        f"<body>{body}</body></html>"
    )


def default_files() -> dict[str, str | bytes]:
    return {
        "mimetype": "application/epub+zip",
        "META-INF/container.xml": CONTAINER,
        "OEBPS/content.opf": OPF,
        "OEBPS/nav.xhtml": NAV,
        "OEBPS/c1.xhtml": chapter("<h1>The First</h1><p>One fine day.</p>"),
        "OEBPS/c2.xhtml": chapter("<h1>The Second</h1><p>Another day.</p>"),
    }


def make_epub(
    path: Path, files: dict[str, str | bytes], compress: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            method = zipfile.ZIP_STORED if name == "mimetype" else compress
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    return path


def epub_with(tmp_path: Path, **changes: str | bytes | None) -> Path:
    """A valid test EPUB with some members replaced (value) or removed (None)."""
    files = default_files()
    for name, value in changes.items():
        name = name.replace("META_INF", "META-INF").replace("__", "/").replace("_dot_", ".")
        if value is None:
            files.pop(name, None)
        else:
            files[name] = value
    return make_epub(tmp_path / "book.epub", files)


def refuses(path: Path, *words: str) -> str:
    with pytest.raises(InputError) as info:
        read_book(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path))
    for word in words:
        assert word.lower() in message.lower(), message
    return message


def patch_central_sizes(path: Path, new_size: int, only: str = "") -> None:
    """Rewrite declared uncompressed sizes in the ZIP central directory (names containing
    `only`), leaving the data alone: the directory is what a bomb check must trust."""
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    while pos != -1:
        name_len = struct.unpack_from("<H", data, pos + 28)[0]
        name = bytes(data[pos + 46 : pos + 46 + name_len]).decode()
        if only in name:
            struct.pack_into("<I", data, pos + 24, new_size)
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))


# --- the fixture itself is valid ----------------------------------------------------------


def test_fixture_epub_reads(tmp_path):
    book = read_book(epub_with(tmp_path))
    assert book.title == "Test Book" and book.author == "Ann Author"
    assert [c.title for c in book.chapters] == ["The First", "The Second"]
    assert [b.text for b in book.chapters[0].blocks] == ["One fine day."]


# --- files that are not there or not files ---------------------------------------------------


def test_missing_file(tmp_path):
    refuses(tmp_path / "nope.epub", "not found")


def test_directory(tmp_path):
    (tmp_path / "book.epub").mkdir()
    refuses(tmp_path / "book.epub", "directory")


def test_socket_is_not_a_regular_file(tmp_path):
    path = tmp_path / "s.epub"
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(path))
        refuses(path, "not a regular file")
    finally:
        sock.close()


def test_unreadable_file(tmp_path, monkeypatch):
    # CI runs as root, who can read a mode-000 file, so the permission error is simulated.
    import builtins
    import io

    path = epub_with(tmp_path)
    real_open = builtins.open

    def denying(file, *args, **kwargs):
        if str(file) == str(path):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denying)
    monkeypatch.setattr(io, "open", denying)
    with pytest.raises(InputError) as caught:
        read_book(path)
    assert str(path) in str(caught.value)


def test_empty_and_non_zip(tmp_path):
    (tmp_path / "empty.epub").write_bytes(b"")
    refuses(tmp_path / "empty.epub", "empty")
    (tmp_path / "photo.epub").write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(200))
    refuses(tmp_path / "photo.epub", "not a zip")


def test_truncated_zip(tmp_path):
    data = epub_with(tmp_path).read_bytes()
    (tmp_path / "cut.epub").write_bytes(data[: len(data) // 2])
    refuses(tmp_path / "cut.epub", "zip")


def test_unsupported_extension(tmp_path):
    (tmp_path / "book.docx.pdf").write_bytes(b"%PDF-1.4 hello")
    refuses(tmp_path / "book.docx.pdf", "unsupported")


# --- package structure -------------------------------------------------------------------


def test_no_container_and_no_opf(tmp_path):
    refuses(epub_with(tmp_path, META_INF__container_dot_xml=None, OEBPS__content_dot_opf=None),
            "container")  # fmt: skip


def test_container_points_to_missing_opf(tmp_path):
    refuses(epub_with(tmp_path, OEBPS__content_dot_opf=None), "missing")


def test_opf_without_spine(tmp_path):
    opf = OPF.replace('<spine><itemref idref="c1"/><itemref idref="c2"/></spine>', "")
    refuses(epub_with(tmp_path, OEBPS__content_dot_opf=opf), "spine")


def test_spine_pointing_nowhere(tmp_path):
    opf = OPF.replace('idref="c1"', 'idref="ghost"').replace('idref="c2"', 'idref="ghost2"')
    refuses(epub_with(tmp_path, OEBPS__content_dot_opf=opf), "spine")


def test_opf_not_xml(tmp_path):
    refuses(epub_with(tmp_path, OEBPS__content_dot_opf="this is <not xml"), "content.opf")


def test_content_document_that_is_garbage(tmp_path):
    refuses(epub_with(tmp_path, OEBPS__c1_dot_xhtml=os.urandom(300)))


def test_missing_toc_still_reads_with_headings(tmp_path):
    book = read_book(epub_with(tmp_path, OEBPS__nav_dot_xhtml=None))
    assert [c.title for c in book.chapters] == ["The First", "The Second"]
    assert [b.text for c in book.chapters for b in c.blocks if b.kind == BlockKind.PARAGRAPH] == [
        "One fine day.",
        "Another day.",
    ]


# --- XML entity attacks ---------------------------------------------------------------------

XXE = '<?xml version="1.0"?>\n<!DOCTYPE html [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )  # fmt: skip
    + "]>\n"
)


@pytest.mark.parametrize("member", ["OEBPS/c1.xhtml", "OEBPS/nav.xhtml"])
def test_xxe_in_content_is_refused(tmp_path, member):
    files = default_files()
    files[member] = chapter("<p>&xxe;</p>", prolog=XXE)
    message = refuses(make_epub(tmp_path / "x.epub", files), "entit")
    assert "root:" not in message


def test_xxe_in_package_and_container(tmp_path):
    opf = OPF.replace('<?xml version="1.0" encoding="UTF-8"?>', XXE).replace(
        "<dc:title>Test Book", "<dc:title>&xxe;"
    )
    refuses(epub_with(tmp_path, OEBPS__content_dot_opf=opf), "entit")
    container = CONTAINER.replace('<?xml version="1.0" encoding="UTF-8"?>', XXE)
    refuses(epub_with(tmp_path, META_INF__container_dot_xml=container), "entit")


def test_billion_laughs_is_refused_quickly(tmp_path):
    start = time.perf_counter()
    refuses(epub_with(tmp_path, OEBPS__c1_dot_xhtml=chapter("<p>&lol9;</p>", prolog=LAUGHS)))
    assert time.perf_counter() - start < 2


def test_utf16_xxe_is_still_seen(tmp_path):
    doc = chapter(
        "<p>&xxe;</p>", prolog=XXE.replace('version="1.0"?>', 'version="1.0" encoding="UTF-16"?>')
    )
    refuses(epub_with(tmp_path, OEBPS__c1_dot_xhtml=doc.encode("utf-16")), "entit")


def test_external_dtd_is_not_fetched_and_named_entities_work(tmp_path):
    prolog = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.1//EN" '
        '"http://www.w3.org/TR/xhtml11/DTD/xhtml11.dtd">\n'
    )
    doc = chapter("<p>Tea&nbsp;for&mdash;two &amp; more.</p>", prolog=prolog)
    book = read_book(epub_with(tmp_path, OEBPS__c1_dot_xhtml=doc))
    assert book.chapters[0].blocks[0].text == "Tea for—two & more."


# --- ZIP attacks -------------------------------------------------------------------------------


def test_zip_bomb_by_ratio(tmp_path):
    files = default_files()
    files["OEBPS/c1.xhtml"] = chapter("<p>" + " " * (4 * 1024 * 1024) + "x</p>")
    refuses(make_epub(tmp_path / "bomb.epub", files), "ratio")


def test_zip_bomb_by_total_size(tmp_path):
    files = default_files()
    for i in range(6):  # incompressible members whose declared sizes are then inflated
        files[f"OEBPS/blob{i}.bin"] = os.urandom(1_600_000)
    path = make_epub(tmp_path / "big.epub", files, compress=zipfile.ZIP_STORED)
    patch_central_sizes(path, 110 * 1024 * 1024, only="blob")
    refuses(path, "512 MiB")


def test_lying_sizes_cannot_overread(tmp_path):
    """Declared sizes smaller than the data: reading stops or fails, never over-allocates."""
    path = epub_with(tmp_path)
    patch_central_sizes(path, 10)
    with pytest.raises(InputError):
        read_book(path)


@pytest.mark.parametrize("name", ["../evil.xhtml", "/etc/evil.xhtml", "OEBPS/../../evil.xhtml"])
def test_paths_escaping_the_archive(tmp_path, name):
    files = default_files()
    files[name] = chapter("<p>evil</p>")
    refuses(make_epub(tmp_path / "escape.epub", files), "unsafe path")


def test_password_encrypted_member(tmp_path):
    path = epub_with(tmp_path)
    data = bytearray(path.read_bytes())
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<H", data, pos + 8, data[pos + 8] | 1)
    path.write_bytes(bytes(data))
    refuses(path, "encrypted")


ENCRYPTION = """<?xml version="1.0"?>
<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"
  xmlns:enc="http://www.w3.org/2001/04/xmlenc#">
  <enc:EncryptedData><enc:EncryptionMethod Algorithm="{alg}"/>
    <enc:CipherData><enc:CipherReference URI="{uri}"/></enc:CipherData></enc:EncryptedData>
</encryption>"""


def test_drm_encrypted_content_is_refused(tmp_path):
    enc = ENCRYPTION.format(alg="http://www.w3.org/2001/04/xmlenc#aes128-cbc", uri="OEBPS/c1.xhtml")
    refuses(epub_with(tmp_path, META_INF__encryption_dot_xml=enc), "drm")


def test_rights_xml_is_refused(tmp_path):
    refuses(epub_with(tmp_path, META_INF__rights_dot_xml="<rights/>"), "drm")


def test_font_obfuscation_only_is_fine(tmp_path):
    enc = ENCRYPTION.format(alg="http://www.idpf.org/2008/embedding", uri="OEBPS/fonts/a.otf")
    book = read_book(epub_with(tmp_path, META_INF__encryption_dot_xml=enc))
    assert len(book.chapters) == 2
