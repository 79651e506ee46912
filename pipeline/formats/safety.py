"""Checks for documents that are archives or XML, made before any parser library sees them.

A Word document is a zip of XML parts, so it can be a zip bomb (a part that inflates a
thousandfold), a broken archive, or hold XML with entity declarations (an entity expansion,
"billion laughs") or external references (XXE: ``SYSTEM "file:///etc/passwd"``).

- :func:`read_zip` checks the central directory first (member count, declared sizes, each
  member's compression ratio), then inflates every member with a running count, so a member
  whose header lies about its size is stopped at the declared size (and the CRC check fails)
  and never at more than the limits.
- :func:`check_xml` refuses a DTD that declares entities or points outside the document, and
  parses with :func:`safe_xml_parser` (lxml with entity resolution, DTD loading and network
  access off and the default depth and size limits on) to tell malformed XML apart.

Refusals raise :class:`~pipeline.errors.UnsafeDocumentError` (E106); archives or XML that
cannot be read raise :class:`~pipeline.errors.DocumentFormatError` (E105). Each message is one
line and names the document. lxml is used because the project already depends on it and it
exposes each of these switches; the standard library's zipfile reads the central directory.
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from typing import TYPE_CHECKING

from pipeline.errors import DocumentFormatError, UnsafeDocumentError
from pipeline.formats.base import MAX_UNZIPPED_BYTES, MAX_ZIP_RATIO

if TYPE_CHECKING:
    from lxml import etree

MAX_ZIP_MEMBERS = 10_000
"""An archive with more members than this is refused (a Word document has a few dozen)."""
RATIO_FLOOR_BYTES = 1024 * 1024
"""Members smaller than this (uncompressed) are not held to :data:`MAX_ZIP_RATIO`: a few
hundred bytes of repeated markup compress very well and can do no harm."""
_CHUNK = 1024 * 1024
_ENTITY_DECL = re.compile(rb"<!ENTITY", re.IGNORECASE)
_DOCTYPE_EXTERNAL = re.compile(rb"<!DOCTYPE[^>\[]*\b(SYSTEM|PUBLIC)\b", re.IGNORECASE)


def _broken(name: str, why: object) -> DocumentFormatError:
    text = str(why).splitlines()[0] if str(why) else type(why).__name__
    return DocumentFormatError(f"{name}: not a readable zip archive ({text})")


def read_zip(
    data: bytes,
    name: str,
    *,
    max_unzipped: int = MAX_UNZIPPED_BYTES,
    max_ratio: float = MAX_ZIP_RATIO,
    max_members: int = MAX_ZIP_MEMBERS,
) -> dict[str, bytes]:
    """Every member of the archive ``data``, inflated, after the bomb and integrity checks.

    An archive that is broken is refused with E105, a zip bomb with E106.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise _broken(name, exc) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > max_members:
            raise UnsafeDocumentError(f"{name}: the archive has {len(infos)} members, more than {max_members}")
        declared = sum(i.file_size for i in infos)
        if declared > max_unzipped:
            raise UnsafeDocumentError(
                f"{name}: the archive would unzip to {declared} bytes, more than the limit of {max_unzipped}"
            )
        for info in infos:
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= min(RATIO_FLOOR_BYTES, max_unzipped) and ratio > max_ratio:
                raise UnsafeDocumentError(
                    f"{name}: member {info.filename!r} compresses {ratio:.0f}:1, over {max_ratio:.0f}:1 (a zip bomb)"
                )
        members: dict[str, bytes] = {}
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            chunks: list[bytes] = []
            size = 0
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(_CHUNK):
                        size += len(chunk)
                        total += len(chunk)
                        if size > info.file_size or total > max_unzipped:
                            raise UnsafeDocumentError(
                                f"{name}: member {info.filename!r} inflates past its declared size (a zip bomb)"
                            )
                        chunks.append(chunk)
            except UnsafeDocumentError:
                raise
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                OSError,
                RuntimeError,
                NotImplementedError,
                ValueError,
            ) as exc:
                raise _broken(name, f"{info.filename}: {exc}") from None
            members[info.filename] = b"".join(chunks)
    return members


def safe_xml_parser() -> etree.XMLParser:
    """An lxml parser that never resolves entities, loads a DTD or opens the network."""
    from lxml import etree

    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def check_xml(data: bytes, name: str) -> None:
    """Refuse XML that declares entities or names an external DTD (E106), or that is malformed (E105)."""
    from lxml import etree

    if _ENTITY_DECL.search(data) or _DOCTYPE_EXTERNAL.search(data):
        raise UnsafeDocumentError(f"{name}: XML with entity declarations or an external DTD is refused")
    try:
        tree = etree.parse(io.BytesIO(data), safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        raise DocumentFormatError(f"{name}: malformed XML ({str(exc).splitlines()[0]})") from None
    info = tree.docinfo
    # The byte scan misses declarations in another encoding (UTF-16): ask the parsed DTD too.
    dtd = info.internalDTD
    if info.system_url or info.public_id or (dtd is not None and any(True for _ in dtd.iterentities())):
        raise UnsafeDocumentError(f"{name}: XML with entity declarations or an external DTD is refused")
