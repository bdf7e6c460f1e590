"""Refuse hostile or broken input before any parser sees it.

An EPUB is a ZIP of XML, so the attacks are the ZIP and XML classics: decompression bombs,
members whose names escape the archive, DRM-encrypted content we could only read as noise,
and XML entity tricks (external entities that read local files, "billion laughs" expansion).
Everything here works from the ZIP central directory and raw bytes, so nothing is extracted,
expanded or fetched before it has been judged safe. Every refusal is an InputError with one
line that names the problem.
"""

from __future__ import annotations

import html.entities
import logging
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import lxml.html
from lxml import etree

from narration.errors import InputError

log = logging.getLogger(__name__)

# Limits. A large illustrated novel is ~50 MiB uncompressed; these leave ample room.
MAX_TOTAL_UNCOMPRESSED = 512 * 1024 * 1024
MAX_MEMBER_UNCOMPRESSED = 128 * 1024 * 1024
MAX_RATIO = 100  # per member, uncompressed / compressed
RATIO_FLOOR = 1024 * 1024  # small members may compress extremely well; only judge big ones
MAX_MEMBERS = 20_000
MAX_TEXT_FILE = 64 * 1024 * 1024

ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# Font obfuscation is not DRM: the IDPF and Adobe algorithms only mangle embedded fonts.
FONT_OBFUSCATION = {
    "http://www.idpf.org/2008/embedding",
    "http://ns.adobe.com/pdf/enc#RC",
}
XMLENC_NS = "http://www.w3.org/2001/04/xmlenc#"


def check_file(path: Path) -> bytes:
    """Return the first bytes of a readable regular file, or raise InputError saying why not."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(path, "file not found") from None
    except OSError as exc:
        raise InputError(path, f"cannot access file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(path, "is a directory, not a book file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(path, "is not a regular file")
    if info.st_size == 0:
        raise InputError(path, "file is empty")
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGICS)


def _unsafe_name(name: str) -> bool:
    """True if a member name could land outside an extraction folder."""
    if not name or "\x00" in name or "\\" in name:
        return True
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return True
    return ".." in PurePosixPath(name).parts


@dataclass
class SafeZip:
    """A ZIP whose directory passed the checks; read members only through `read`."""

    path: Path
    zf: zipfile.ZipFile
    names: set[str]

    def read(self, name: str) -> bytes:
        """Read one member, bounded by its (already checked) declared size."""
        if name not in self.names:
            raise InputError(self.path, f"archive has no member {name!r}")
        info = self.zf.getinfo(name)
        try:
            # ZipExtFile stops at the declared size and checks the CRC, so a member cannot
            # decompress to more than the directory promised.
            with self.zf.open(info) as member:
                return member.read(info.file_size + 1)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError) as exc:
            raise InputError(self.path, f"corrupt archive member {name!r} ({exc})") from None
        except Exception as exc:  # zlib.error, NotImplementedError (unknown compression) ...
            raise InputError(self.path, f"unreadable archive member {name!r} ({exc})") from None

    def close(self) -> None:
        self.zf.close()


def open_zip(path: Path) -> SafeZip:
    """Open an EPUB's ZIP and vet its directory: bombs, path escapes, encryption, DRM."""
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InputError(path, f"not a readable ZIP/EPUB archive ({exc})") from None
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(path, f"not a readable ZIP/EPUB archive ({exc})") from None
    try:
        infos = zf.infolist()
        _check_directory(path, infos)
        safe = SafeZip(path, zf, {i.filename for i in infos if not i.is_dir()})
        _check_mimetype(safe)
        _check_drm(safe)
        return safe
    except BaseException:
        zf.close()
        raise


def _check_directory(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    if not infos:
        raise InputError(path, "ZIP archive is empty")
    if len(infos) > MAX_MEMBERS:
        raise InputError(path, f"archive has {len(infos)} members (limit {MAX_MEMBERS})")
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise InputError(path, f"unsafe path in archive: {info.filename!r}")
        if info.flag_bits & 0x1:
            raise InputError(path, f"archive member {info.filename!r} is password-encrypted")
        size = info.file_size
        if size > MAX_MEMBER_UNCOMPRESSED:
            raise InputError(
                path, f"archive member {info.filename!r} is too large ({size} bytes uncompressed)"
            )
        if size > RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            raise InputError(
                path,
                f"archive member {info.filename!r} has a suspicious compression ratio "
                f"({size // max(info.compress_size, 1)}:1, possible zip bomb)",
            )
        total += size
        if total > MAX_TOTAL_UNCOMPRESSED:
            raise InputError(path, "archive expands to more than 512 MiB (possible zip bomb)")


def _check_mimetype(archive: SafeZip) -> None:
    # A missing or wrong `mimetype` breaks the OCF rules but not reading: warn, go on.
    if "mimetype" not in archive.names:
        log.warning("%s: EPUB has no 'mimetype' member; reading it anyway", archive.path)
        return
    kind = archive.read("mimetype")[:64].strip()
    if kind != b"application/epub+zip":
        log.warning("%s: unexpected EPUB mimetype %r; reading it anyway", archive.path, kind)


def _check_drm(archive: SafeZip) -> None:
    """Refuse DRM: content documents listed as encrypted (fonts-only obfuscation is fine)."""
    if "META-INF/rights.xml" in archive.names:
        raise InputError(archive.path, "EPUB is DRM-protected (META-INF/rights.xml present)")
    if "META-INF/encryption.xml" not in archive.names:
        return
    root = parse_xml(archive.read("META-INF/encryption.xml"), archive.path, "encryption.xml")
    for data in root.iter(f"{{{XMLENC_NS}}}EncryptedData"):
        method = data.find(f"{{{XMLENC_NS}}}EncryptionMethod")
        algorithm = method.get("Algorithm", "") if method is not None else ""
        ref = data.find(f".//{{{XMLENC_NS}}}CipherReference")
        uri = ref.get("URI", "") if ref is not None else ""
        is_font = re.search(r"\.(otf|ttf|woff2?|eot)$", uri, re.IGNORECASE) is not None
        if algorithm in FONT_OBFUSCATION and is_font:
            continue
        raise InputError(
            archive.path, f"EPUB is DRM-protected or encrypted ({uri or 'content'} is encrypted)"
        )


# --- XML -------------------------------------------------------------------------------------

_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_NAMED_REF = re.compile(r"&([A-Za-z][A-Za-z0-9]{1,31});")
_XML_NAMED = {"amp", "lt", "gt", "quot", "apos"}


def _to_utf8(data: bytes) -> bytes:
    """Re-encode UTF-16/32 XML as UTF-8 so byte-level screening sees the markup."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    elif data.startswith((b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")):
        text = data.decode("utf-32")
    else:
        return data
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text.lstrip("\ufeff"))
    return text.encode("utf-8")


def screen_xml(data: bytes, path: Path, name: str) -> bytes:
    """Refuse entity declarations (XXE, billion laughs); map HTML named entities to numbers.

    Returns UTF-8 bytes safe to hand to `parse_xml`. An external DOCTYPE (the XHTML 1.1 DTD
    that EPUB2 files cite) is harmless: the parser never loads it.
    """
    data = _to_utf8(data)
    match = _DOCTYPE.search(data, 0, 4096)
    if match:
        end = data.find(b">", match.end())
        bracket = data.find(b"[", match.end())
        if bracket != -1 and (end == -1 or bracket < end):
            raise InputError(
                path,
                f"{name}: XML with an internal DTD subset is refused (entity declarations "
                "can read local files or expand without bound)",
            )
    if b"<!ENTITY" in data:
        raise InputError(path, f"{name}: XML entity declarations are refused")
    if b"&" in data:
        data = _named_entities_to_numeric(data)
    return data


def _named_entities_to_numeric(data: bytes) -> bytes:
    # XHTML content often uses &nbsp; &mdash; ... which XML only knows through the DTD that we
    # refuse to load. Numeric references keep the characters without any DTD.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _XML_NAMED:
            return match.group(0)
        char = html.entities.html5.get(name + ";")
        return "".join(f"&#{ord(c)};" for c in char) if char else match.group(0)

    return _NAMED_REF.sub(sub, text).encode("utf-8")


def _parser(recover: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
    )


def _refuse_deep_markup(log: etree._ListErrorLog | str, path: Path, name: str) -> None:
    """libxml2 stops at a nesting depth (256 without its "huge" option, which stays off): in
    recover mode it keeps the part above silently, so the chapter would lose its text with no
    word said. Refuse instead; our tree walks then never see more than that depth either."""
    messages = [log] if isinstance(log, str) else [entry.message for entry in log]
    for message in messages:
        if "excessive depth" in message.lower():
            limit = "".join(re.findall(r"depth in document: (\d+)", message)[:1]) or "256"
            raise InputError(
                path, f"{name}: markup nested more than {limit} levels deep is refused"
            )


def parse_xml(data: bytes, path: Path, name: str, *, recover: bool = False) -> etree._Element:
    """Screen and parse XML without entities, DTDs or network; InputError if unreadable."""
    data = screen_xml(data, path, name)
    parser = _parser(recover)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        _refuse_deep_markup(str(exc.msg), path, name)
        raise InputError(path, f"{name} is not well-formed XML ({exc.msg})") from None
    except (ValueError, etree.LxmlError) as exc:
        raise InputError(path, f"{name} could not be parsed ({exc})") from None
    _refuse_deep_markup(parser.error_log, path, name)
    if root is None:
        raise InputError(path, f"{name} has no XML content")
    return root


def parse_content(data: bytes, path: Path, name: str) -> etree._Element:
    """Parse an XHTML content document, forgiving sloppy markup.

    XML in recover mode first (keeps namespaces, so epub:type works); if that finds no root,
    the HTML parser's tag-soup reading, so one damaged chapter file does not lose the book.
    Entity screening applies to both; neither parser touches the network or a DTD.
    """
    try:
        return parse_xml(data, path, name, recover=True)
    except InputError as exc:
        if "refused" in exc.problem:
            raise
    data = screen_xml(data, path, name)
    if b"\x00" in data or not re.search(rb"<(html|body|p|div|h[1-6])\b", data, re.IGNORECASE):
        raise InputError(path, f"{name} is not readable XHTML")
    try:
        parser = lxml.html.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
        root = lxml.html.document_fromstring(data, parser=parser)
    except (etree.LxmlError, ValueError) as exc:
        raise InputError(path, f"{name} is not readable XHTML ({exc})") from None
    _refuse_deep_markup(parser.error_log, path, name)
    if root is None:
        raise InputError(path, f"{name} is not readable XHTML")
    return root


def read_limited(path: Path) -> bytes:
    """Read a plain-text book, refusing absurd sizes."""
    size = os.path.getsize(path)
    if size > MAX_TEXT_FILE:
        raise InputError(path, f"text file is too large ({size} bytes; limit 64 MiB)")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read file ({exc.strerror or exc})") from None
