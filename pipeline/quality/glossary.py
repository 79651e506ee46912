"""Forced terminology: standard English names for the people, places and organisations in Dutch news.

Before translating, each glossary term in the source is replaced by its English form (the
"forced terminology" approach of Bergamot), so the model copies the name rather than
transliterating it anew. After translating, ``check_terms`` confirms the English form is in
the output, replaces any Dutch form the model produced anyway, and records a status per term.

Matching is case-sensitive, on Unicode word boundaries (a hyphen counts as part of a word,
so ``Rusland`` never matches inside ``Wit-Rusland``), longest match first: among overlapping
candidates the longest wins, ties going to the leftmost. Genitives are derived for every
entry (``Poetins`` → ``Putin's``, ``Loekasjenko's`` → ``Lukashenko's``); other inflected or
derived forms are listed per entry.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import GlossaryError
from pipeline.signature import GlossarySection

BUILTIN_NAME = "builtin"
TermStatus = Literal["applied", "repaired", "missing"]
_APOSTROPHES = ("'", "’")


def _is_word_char(char: str) -> bool:
    """What a term may not touch: a letter, digit, underscore or hyphen (as ``[\\w-]`` in a pattern)."""
    return char.isalnum() or char in "_-"


@dataclass(frozen=True)
class GlossaryEntry:
    """One name: its Dutch form, its English form, and the inflected forms of both."""

    nl: str
    en: str
    forms: tuple[tuple[str, str], ...] = ()  # (Dutch form, English form), besides ``nl`` itself
    source: str = ""  # where the English form can be checked, e.g. "Wikipedia: Vladimir Putin"
    kind: str = ""  # person, place or organisation
    genitive: bool = True

    def all_forms(self) -> tuple[tuple[str, str], ...]:
        """Every Dutch form with its English rendering: the base, its genitives, the listed forms."""
        pairs: dict[str, str] = {self.nl: self.en}
        if self.genitive:
            en_genitive = self.en + "'s"
            pairs.setdefault(self.nl + "s", en_genitive)
            for mark in _APOSTROPHES:
                pairs.setdefault(self.nl + mark + "s", en_genitive)
        for nl, en in self.forms:
            pairs[nl] = en
        return tuple(pairs.items())

    def canonical(self) -> list[Any]:
        """What determines this entry's effect on a translation (``source`` and ``kind`` are notes)."""
        return [self.nl, self.en, sorted(self.forms), self.genitive]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"nl": self.nl, "en": self.en}
        if self.forms:
            data["forms"] = dict(self.forms)
        if self.source:
            data["source"] = self.source
        if self.kind:
            data["kind"] = self.kind
        if not self.genitive:
            data["genitive"] = False
        return data


@dataclass(frozen=True)
class TermMatch:
    """A glossary form found in a text: ``text[start:end] == nl``."""

    nl: str  # the form as it appears
    en: str  # its English rendering
    start: int
    end: int
    entry: GlossaryEntry


@dataclass(frozen=True)
class TermRecord:
    """What became of one term of a segment: the per-segment ``terms`` record."""

    nl: str
    en: str
    start: int  # offsets into the original (unforced) segment
    end: int
    status: TermStatus
    lemma: str = ""  # the entry's base Dutch form, the key of the consistency table
    rendered: str = ""  # the English form the output has ("" when missing)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nl": self.nl,
            "en": self.en,
            "start": self.start,
            "end": self.end,
            "status": self.status,
            "rendered": self.rendered,
        }


@dataclass(frozen=True)
class Glossary:
    """A set of entries; later entries with the same Dutch form replace earlier ones."""

    entries: tuple[GlossaryEntry, ...] = ()
    name: str = ""
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _forms: dict[str, tuple[str, GlossaryEntry]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_initial: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unique = {e.nl: e for e in self.entries}
        object.__setattr__(self, "entries", tuple(unique.values()))
        forms: dict[str, tuple[str, GlossaryEntry]] = {}
        for entry in self.entries:
            for nl, en in entry.all_forms():
                forms.setdefault(nl, (en, entry))
        for entry in self.entries:  # a base form wins over another entry's derived form
            forms[entry.nl] = (entry.en, entry)
        object.__setattr__(self, "_forms", forms)
        by_initial: dict[str, list[str]] = {}
        for form in sorted(forms, key=len, reverse=True):
            by_initial.setdefault(form[0], []).append(form)
        object.__setattr__(self, "_by_initial", by_initial)
        if forms:
            alternatives = "|".join(re.escape(f) for f in sorted(forms, key=lambda f: (-len(f), f)))
            # A lookahead finds a candidate at every position, overlapping ones included.
            pattern = re.compile(rf"(?<![\w-])(?=({alternatives})(?![\w-]))")
            object.__setattr__(self, "_pattern", pattern)

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[GlossaryEntry]:
        return iter(self.entries)

    def merged(self, other: Glossary) -> Glossary:
        """This glossary with ``other``'s entries added; ``other`` wins on the same Dutch form."""
        return Glossary(self.entries + other.entries, name="+".join(n for n in (self.name, other.name) if n))

    def find(self, text: str) -> list[TermMatch]:
        """Non-overlapping matches in ``text``, in text order; the longest candidate wins an overlap."""
        if self._pattern is None:
            return []
        candidates = []  # every form at every position where one starts, not just the longest there
        for found in self._pattern.finditer(text):
            start = found.start(1)
            for form in self._by_initial[text[start]]:
                end = start + len(form)
                if text.startswith(form, start) and (end == len(text) or not _is_word_char(text[end])):
                    candidates.append((start, end))
        chosen: list[tuple[int, int]] = []
        taken = bytearray(len(text))
        for start, end in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if not any(taken[start:end]):
                chosen.append((start, end))
                taken[start:end] = b"\x01" * (end - start)
        matches = []
        for start, end in sorted(chosen):
            en, entry = self._forms[text[start:end]]
            matches.append(TermMatch(text[start:end], en, start, end, entry))
        return matches

    def used_by(self, text: str) -> Glossary:
        """The entries ``text`` actually uses (what a segment's cache key must include, and no more)."""
        used = {m.entry.nl: m.entry for m in self.find(text)}
        return Glossary(tuple(used.values()), name=self.name)

    def digest(self) -> str:
        """A stable digest of the entries (order-independent); ``""`` for an empty glossary."""
        if not self.entries:
            return ""
        canonical = sorted(e.canonical() for e in self.entries)
        blob = json.dumps(canonical, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def signature(self) -> GlossarySection:
        """The run signature's glossary section (segments key only the entries they use: ``segment_key``)."""
        return GlossarySection(self.name or None, len(self), self.digest() or None)

    def segment_key(self, text: str) -> str:
        """The digest of the entries ``text`` uses: add it to the segment's cache key."""
        return self.used_by(text).digest()


# --- loading --------------------------------------------------------------------------------


def _entry_from_mapping(data: Mapping[str, Any], where: str) -> GlossaryEntry:
    nl, en = data.get("nl"), data.get("en")
    if not isinstance(nl, str) or not isinstance(en, str) or not nl.strip() or not en.strip():
        raise GlossaryError(f"{where}: every term needs non-empty `nl` and `en` strings")
    forms = data.get("forms", {})
    if not isinstance(forms, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in forms.items()):
        raise GlossaryError(f"{where}: `forms` of {nl!r} must map Dutch forms to English forms")
    return GlossaryEntry(
        nl=nl.strip(),
        en=en.strip(),
        forms=tuple((k.strip(), v.strip()) for k, v in forms.items() if k.strip() and v.strip()),
        source=str(data.get("source", "")),
        kind=str(data.get("kind", "")),
        genitive=bool(data.get("genitive", True)),
    )


def parse_toml(text: str, name: str = "") -> Glossary:
    """``[[term]]`` tables with ``nl``, ``en`` and optional ``forms``, ``source``, ``kind``, ``genitive``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GlossaryError(f"{name or 'glossary'}: not valid TOML ({error})") from None
    terms = data.get("term", [])
    if not isinstance(terms, list):
        raise GlossaryError(f"{name or 'glossary'}: `term` must be an array of tables ([[term]])")
    return Glossary(
        tuple(_entry_from_mapping(t, f"{name or 'glossary'} term {i + 1}") for i, t in enumerate(terms)), name
    )


def parse_tsv(text: str, name: str = "") -> Glossary:
    """One term per line: ``nl<TAB>en`` and an optional third column noting the source; ``#`` comments."""
    entries = []
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise GlossaryError(f"{name or 'glossary'} line {number}: expected `Dutch<TAB>English`")
        entries.append(GlossaryEntry(row[0].strip(), row[1].strip(), source=row[2].strip() if len(row) > 2 else ""))
    return Glossary(tuple(entries), name)


def load_glossary(path: Path) -> Glossary:
    """A glossary file: TOML when it ends in ``.toml``, else tab-separated."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GlossaryError(f"cannot read glossary {path}: {error}") from None
    parse = parse_toml if path.suffix.lower() == ".toml" else parse_tsv
    return parse(text, path.name)


def builtin_glossary() -> Glossary:
    """The shipped Dutch→English news glossary (``pipeline/data/glossary.toml``)."""
    text = resources.files("pipeline").joinpath("data/glossary.toml").read_text(encoding="utf-8")
    return parse_toml(text, BUILTIN_NAME)


def resolve_glossary(path: Path | None = None, *, builtin: bool = True) -> Glossary:
    """What ``--glossary FILE`` / ``--no-glossary`` select: the built-in one, then the file's entries over it."""
    glossary = builtin_glossary() if builtin else Glossary()
    return glossary.merged(load_glossary(path)) if path is not None else glossary


# --- forcing and checking -------------------------------------------------------------------


@dataclass(frozen=True)
class ForcedSource:
    """A source with its terms replaced by their English forms, and where each one went."""

    original: str
    text: str
    matches: tuple[TermMatch, ...]
    spans: tuple[tuple[int, int], ...]  # each match's span in ``text``

    def original_offset(self, forced_offset: int) -> int:
        """Map an offset in ``text`` back to the original (inside a term: the term's start)."""
        shift = 0
        for match, (start, end) in zip(self.matches, self.spans, strict=True):
            if forced_offset < start:
                break
            if forced_offset < end:
                return match.start
            shift = match.end - end
        return forced_offset + shift


def force_terms(source: str, glossary: Glossary) -> ForcedSource:
    """Replace each glossary term of ``source`` by its English form."""
    matches = tuple(glossary.find(source))
    pieces: list[str] = []
    spans: list[tuple[int, int]] = []
    position = 0
    length = 0
    for match in matches:
        pieces.append(source[position : match.start])
        length += match.start - position
        spans.append((length, length + len(match.en)))
        pieces.append(match.en)
        length += len(match.en)
        position = match.end
    pieces.append(source[position:])
    return ForcedSource(source, "".join(pieces), matches, tuple(spans))


def _word_pattern(form: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(form)}(?![\w-])")


def check_terms(target: str, matches: Sequence[TermMatch]) -> tuple[str, list[TermRecord]]:
    """Check that each term's English form is in ``target``; replace Dutch forms left in it.

    A term is ``applied`` when its English form, or another English form of its entry
    (``Putin`` for ``Putin's``, ``Russia's`` for ``Russian``), is there; ``repaired`` when a
    Dutch form of the entry was there and has been replaced by its English form; ``missing``
    otherwise. Returns the repaired target and one record per match.
    """
    records: list[TermRecord] = []
    for match in matches:
        entry = match.entry
        english = [match.en, *sorted({en for _, en in entry.all_forms()} - {match.en}, key=len, reverse=True)]
        rendered = next((en for en in english if _word_pattern(en).search(target)), "")
        status: TermStatus = "applied" if rendered else "missing"
        if not rendered:
            for nl, en in sorted(entry.all_forms(), key=lambda pair: -len(pair[0])):
                pattern = _word_pattern(nl)
                if pattern.search(target):
                    target = pattern.sub(en.replace("\\", r"\\"), target)
                    status, rendered = "repaired", rendered or en
        records.append(TermRecord(match.nl, match.en, match.start, match.end, status, entry.nl, rendered))
    return target, records


def missing_terms(records: Iterable[TermRecord]) -> list[TermRecord]:
    return [r for r in records if r.status == "missing"]


MISSING_RENDERING = "(missing)"


def consistency_table(records: Iterable[TermRecord]) -> dict[str, dict[str, int]]:
    """Per document: each source name (entry base form) → the renderings it got, with counts.

    A term counts under the English form the output has for it, ``(missing)`` when none.
    """
    table: dict[str, Counter[str]] = {}
    for record in records:
        rendering = record.rendered or MISSING_RENDERING
        table.setdefault(record.lemma or record.nl, Counter())[rendering] += 1
    return {name: dict(counts.most_common()) for name, counts in sorted(table.items())}
