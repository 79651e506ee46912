"""Dutch→English place names from the Unicode CLDR, through ``babel``: the source of ``glossary-cldr.toml``.

CLDR holds each locale's names of countries, territories and world regions, and of the exemplar
city of each time zone. Where the Dutch name differs from the English one it is an exonym the
glossary should force (``Duitsland`` → ``Germany``, ``Boekarest`` → ``Bucharest``). CLDR's English
is its own style in places (``Czechia``, ``Türkiye``, ``St. Lucia``, ``Bosnia & Herzegovina``), so
``OVERRIDES`` give the form English news writes, keeping CLDR's as an accepted variant, and names
that would force nonsense into ordinary sentences are left out (``SKIPPED``) or flagged
(``common_word``, ``also_english``; see ``pipeline.quality.glossary``), each with its reason.

``python -m pipeline.quality.exonyms`` rewrites ``pipeline/data/glossary-cldr.toml`` (after a babel
upgrade: review the diff). Every entry cites the CLDR version and the record it came from.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "glossary-cldr.toml"

# World regions worth forcing (OVERRIDES give news English where CLDR's is statistical, "Western Africa");
# left out: "Amerika" → "Americas" (Dutch "Amerika" means America), "Noordelijk Amerika", Oceania's parts.
REGIONS = (
    "002", "003", "005", "009", "011", "013", "014", "015", "017", "018", "029", "030", "034", "035",
    "039", "142", "143", "145", "150", "151", "154", "155", "202", "419",
)  # fmt: skip

SKIPPED: dict[str, str] = {
    "NL": "Nederland → the Netherlands needs the article, and Dutch compounds vary (left out of glossary.toml too)",
    "PL": "Polen is also the Poles",
    "SE": "Zweden is also the Swedes",
    "CD": "CLDR's 'Congo - Kinshasa' is not news English; Dutch 'Congo' alone is ambiguous",
    "CG": "CLDR's 'Congo - Brazzaville' is not news English; Dutch 'Congo' alone is ambiguous",
    "HK": "the long 'SAR van China' form is not used in news; the city (Asia/Hong_Kong) is kept",
    "MO": "the long 'SAR van China' form is not used in news; Macau is also English",
    "MM": "a bracketed double name: 'Myanmar (Birma)'",
    "AC": "'Ascension' is an English word too",
    "NF": "Norfolk is also the English county",
    "Europe/Athens": "Athene is also the goddess (left out of glossary.toml too)",
    "Asia/Macau": "Macau is English too",
    "Pacific/Kanton": "Kanton is also a canton, and Guangzhou",
    "Pacific/Galapagos": "Galápagos is English too",
    "Pacific/Gambier": "CLDR's Dutch is the French name",
    "Indian/Comoro": "CLDR's Dutch is the French name; the territory KM is kept",
    "Atlantic/Canary": "the territory IC is kept",
    "Atlantic/Faroe": "the territory FO is kept",
    "Atlantic/South_Georgia": "the territory GS is kept",
    "Asia/Aqtobe": "a transliteration variant, not an exonym",
    "Asia/Atyrau": "a transliteration variant, not an exonym",
    "Africa/Sao_Tome": "an accent variant",
    "America/Cancun": "an accent variant",
    "America/Lower_Princes": "a local district name",
}

# code → (English form news writes, accepted variants, extra fields); the reason is in the entry's source.
OVERRIDES: dict[str, tuple[str | None, tuple[str, ...], dict[str, Any], str]] = {
    "TR": ("Turkey", ("Türkiye",), {}, "English news name (Wikipedia: Turkey)"),
    "CZ": ("Czech Republic", ("Czechia",), {}, "English news name (Wikipedia: Czech Republic)"),
    "CI": ("Ivory Coast", ("Côte d’Ivoire", "Côte d'Ivoire"), {}, "English news name (Wikipedia: Ivory Coast)"),
    "TL": ("East Timor", ("Timor-Leste",), {}, "English news name (Wikipedia: East Timor)"),
    "CV": (None, ("Cabo Verde",), {}, "official short name (Wikipedia: Cape Verde)"),
    "BS": (None, (), {"forms": {"Bahama's": "Bahamas"}, "genitive": False}, "the Dutch apostrophe both ways"),
    "CL": (None, (), {"common_word": True, "also_english": True}, "chili is a Dutch and an English word"),
    "LU": (None, (), {"also_english": True}, "Luxemburg is an English surname (Rosa Luxemburg)"),
    "150": (None, (), {"also_english": True}, "Europa is English in the Europa League, and a moon"),
    "011": ("West Africa", (), {}, "English news name (Wikipedia: West Africa)"),
    "014": ("East Africa", (), {}, "English news name (Wikipedia: East Africa)"),
    "015": ("North Africa", (), {}, "English news name (Wikipedia: North Africa)"),
    "017": ("Central Africa", (), {}, "English news name (Wikipedia: Central Africa)"),
    "030": ("East Asia", (), {}, "English news name (Wikipedia: East Asia)"),
    "034": ("South Asia", (), {}, "English news name (Wikipedia: South Asia)"),
    "Europe/Vienna": (None, (), {"common_word": True}, "wenen is also the verb 'to weep'"),
    "Europe/Kyiv": (None, ("Kiev",), {}, "Kiev is the English name before 2022"),
    "Asia/Kolkata": (None, ("Calcutta",), {}, "Calcutta is the English name before 2001"),
    "Asia/Yangon": (None, ("Rangoon",), {}, "Rangoon is the English name before 1989"),
    "Asia/Almaty": (None, ("Alma-Ata",), {}, "Alma-Ata is the English name before 1993"),
}


def _fold(name: str) -> str:
    """A name without the differences that are no translation: accents (but Dutch's trema, ``Israël``,
    ``Caïro``, which English never writes), ``St.``/``Saint``, ``&``/``and``, hyphens, apostrophes."""
    kept = {"ë": "\0e", "ï": "\0i", "Ë": "\0E", "Ï": "\0I"}
    text = "".join(kept.get(c, c) for c in name)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = re.sub(r"\bst\.?(?=\s)", "saint", text).replace("&", "and").replace("’", "'")
    return " ".join(text.replace("-", " ").split())


def _usable(dutch: str, english: str) -> bool:
    """A differing, capitalised, single name (no brackets or commas) in both languages."""
    return (
        bool(dutch)
        and dutch[0].isupper()
        and not re.search(r"[(),]", dutch + english)
        and _fold(dutch) != _fold(english)
    )


def _records() -> Iterator[tuple[str, str, str, str]]:
    """(code, Dutch, English, what CLDR calls it) for territories, chosen regions, then time-zone cities."""
    from babel import Locale

    english, dutch = Locale("en"), Locale("nl")
    for code, name in sorted(english.territories.items()):
        if code[0] in "QXZ" or (code.isdigit() and code not in REGIONS) or code not in dutch.territories:
            continue
        yield code, dutch.territories[code], name, "region" if code.isdigit() else "territory"
    for zone, names in sorted(dutch.time_zones.items()):
        city = names.get("city")
        if not city or zone.startswith(("Etc/", "Antarctica/")) or "/St_" in zone or "North_Dakota" in zone:
            continue
        own = english.time_zones.get(zone, {}).get("city") or zone.rsplit("/", 1)[1].replace("_", " ")
        yield zone, city, own, "time zone exemplar city"


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string


def entries() -> list[dict[str, Any]]:
    """The generated entries, in CLDR order, the first of each Dutch name kept."""
    from babel.core import get_cldr_version

    version = get_cldr_version()
    found: dict[str, dict[str, Any]] = {}
    for code, dutch, english, what in _records():
        english = english.replace(" & ", " and ")
        if code in SKIPPED or dutch in found or not _usable(dutch, english):
            continue
        entry: dict[str, Any] = {"nl": dutch, "en": english}
        source = f"CLDR {version}: {what} {code}"
        if code in OVERRIDES:
            preferred, variants, extra, reason = OVERRIDES[code]
            if preferred is not None and preferred != english:
                variants = tuple(dict.fromkeys((english, *variants)))
                entry["en"] = preferred
            entry |= ({"variants": list(variants)} if variants else {}) | extra
            source += f"; {reason}"
        elif english.startswith("St. "):
            entry["variants"] = ["Saint " + english[4:]]
        entry |= {"kind": "place", "source": source}
        found[dutch] = entry
    return list(found.values())


def render() -> str:
    """``glossary-cldr.toml``'s text."""
    from babel.core import get_cldr_version

    lines = [
        f"# Generated by `python -m pipeline.quality.exonyms` from CLDR {get_cldr_version()} (through babel):",
        "# Dutch and English names of territories, world regions and time-zone cities that differ.",
        "# Do not edit by hand: change SKIPPED or OVERRIDES there and regenerate. pipeline/data/glossary.toml",
        "# (hand-kept) wins over these entries on the same Dutch name.",
    ]
    for entry in entries():
        lines += ["", "[[term]]"]
        for key in ("nl", "en", "variants", "forms", "kind", "source", "genitive", "common_word", "also_english"):
            if key not in entry:
                continue
            value = entry[key]
            if isinstance(value, bool):
                rendered = "true" if value else "false"
            elif isinstance(value, list):
                rendered = "[" + ", ".join(_toml_string(v) for v in value) + "]"
            elif isinstance(value, dict):
                rendered = "{ " + ", ".join(f"{_toml_string(k)} = {_toml_string(v)}" for k, v in value.items()) + " }"
            else:
                rendered = _toml_string(value)
            lines.append(f"{key} = {rendered}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m pipeline.quality.exonyms: rewrite the data file
    DATA_FILE.write_text(render(), encoding="utf-8")
