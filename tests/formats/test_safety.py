"""Archive and XML checks: bombs, lies, entities and external references refused on one line."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

from pipeline.errors import DocumentFormatError, UnsafeDocumentError
from pipeline.formats.safety import check_xml, read_zip


def zipped(parts: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, blob in parts.items():
            z.writestr(name, blob)
    return out.getvalue()


def test_safety_read_zip_returns_every_member() -> None:
    parts = {"a.xml": b"<a/>", "b/c.txt": b"hello " * 100}
    assert read_zip(zipped(parts), "ok.zip") == parts


def test_safety_ratio_bomb_refused_from_the_central_directory() -> None:
    data = zipped({"zeros": bytes(2 << 20)})  # 2 MB of zeros compress about 1000:1
    with pytest.raises(UnsafeDocumentError, match=r"^bomb\.zip: member 'zeros' compresses \d+:1"):
        read_zip(data, "bomb.zip")
    assert read_zip(data, "bomb.zip", max_ratio=5000)["zeros"] == bytes(2 << 20)  # the same archive, looser limit


def test_safety_total_size_and_member_count_limits() -> None:
    data = zipped({f"m{i}.txt": b"some text, not repeated %d" % i for i in range(20)})
    with pytest.raises(UnsafeDocumentError, match="would unzip to"):
        read_zip(data, "big.zip", max_unzipped=100)
    with pytest.raises(UnsafeDocumentError, match="20 members, more than 10"):
        read_zip(data, "many.zip", max_members=10)


def lie_about_size(data: bytes, name: str, size: int) -> bytes:
    """Rewrite the declared uncompressed size of ``name`` in both its local and central headers."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        info = z.getinfo(name)
    out = bytearray(data)
    struct.pack_into("<I", out, info.header_offset + 22, size)  # local file header
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name.encode():  # this member's directory entry
        central = data.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", out, central + 24, size)
    return bytes(out)


def test_safety_lying_size_header_does_not_get_past() -> None:
    data = lie_about_size(zipped({"zeros": bytes(10 << 20)}), "zeros", 1000)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert z.getinfo("zeros").file_size == 1000  # the directory now claims 1000 bytes
    with pytest.raises((DocumentFormatError, UnsafeDocumentError)) as caught:
        read_zip(data, "liar.zip")
    assert str(caught.value).startswith("liar.zip: ") and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    "data",
    [b"", b"PK\x05\x06" + b"\x00" * 5, b"hello world", zipped({"a": b"abc" * 100})[:-10]],
    ids=["empty", "short-eocd", "text", "truncated"],
)
def test_safety_broken_archives_are_format_errors(data: bytes) -> None:
    with pytest.raises(DocumentFormatError, match=r"^broken\.zip: not a readable zip archive"):
        read_zip(data, "broken.zip")


XML_REFUSED = {
    "xxe": b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    "public": b'<!DOCTYPE x PUBLIC "-//X//EN" "http://example.org/x.dtd"><x/>',
    "system-dtd": b'<!DOCTYPE x SYSTEM "http://example.org/x.dtd"><x/>',
    "laughs": b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>',
    "parameter": b'<!DOCTYPE x [<!ENTITY % p SYSTEM "http://example.org/p">%p;]><x/>',
    "utf16": '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>'.encode("utf-16"),
}


@pytest.mark.parametrize("name", sorted(XML_REFUSED))
def test_safety_xml_entities_and_external_dtds_are_refused(name: str) -> None:
    with pytest.raises(UnsafeDocumentError, match=r"^doc\.docx \(word/document\.xml\): XML with entity"):
        check_xml(XML_REFUSED[name], "doc.docx (word/document.xml)")


def test_safety_plain_xml_passes_and_malformed_xml_is_a_format_error() -> None:
    check_xml(b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="urn:x"><w:p/></w:document>', "ok")
    check_xml(b"<!DOCTYPE html><html/>", "ok")  # a doctype without entities or an external id
    with pytest.raises(DocumentFormatError, match=r"^bad: malformed XML"):
        check_xml(b"<a><b></a>", "bad")
