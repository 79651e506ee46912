"""Forced terminology: standard English names for the people, places and organisations in Dutch news.

Before translating, each glossary term in the source is replaced by its English form (the
"forced terminology" approach of Bergamot), so the model copies the name rather than
transliterating it anew. After translating, ``check_terms`` confirms an English form is in
the output, replaces any Dutch form the model produced anyway, and records a status per term.

Dutch forms are matched case-sensitively on Unicode word boundaries (a hyphen counts as part
of a word, so ``Rusland`` never matches inside ``Wit-Rusland``), longest match first: among
overlapping candidates the longest wins, ties going to the leftmost. Texts are compared after
NFC and whitespace normalisation (a no-break space or a run of spaces is one space), with
offsets into the text as given. Genitives are derived for every entry (``Poetins`` →
``Putin's``); other inflected or derived forms are listed per entry.

English forms are more forgiving, because news English writes one name several ways: an
entry's ``variants`` are accepted as renderings too (``United States``: ``U.S.``, ``US``), and a
form counts as written, capitalised or in capitals (``PUTIN``) and inside a hyphenated compound
(``Putin-led``). A Dutch form left in the output is repaired even when the English form is
elsewhere in it, except where it lies inside an accepted English form; a Dutch form that is
itself an accepted English form (``Kiev``) is never repaired nor banned, and neither is one that
opens an accepted English form (banning the tokens of ``Brussel`` would ban ``Brussels``).

Two flags mark Dutch forms that are also ordinary words: ``common_word`` (``Chili``: the
pepper) takes the name only inside a sentence, where the word would be lower case;
``also_english`` (``Europa``: the Europa League) means the form occurs in correct English: it is
not taken before a capitalised word (``Europa Cup``), it is repaired only when the output lacks
the English form, and it is no sign of Dutch output.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import re
import tomllib
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pipeline.errors import GlossaryError
from pipeline.quality.matching import normalise, normalised, opens_sentence
from pipeline.signature import GlossarySection

BUILTIN_NAME = "builtin"
BUILTIN_FILES = ("data/glossary-cldr.toml", "data/glossary.toml")  # later files win on the same Dutch form
TermStatus = Literal["applied", "repaired", "missing"]
_APOSTROPHES = ("'", "’")
_CAPITALISED_NEXT = re.compile(r" [^\W\d_]*[A-Z]")


def _is_word_char(char: str) -> bool:
    """What a Dutch form may not touch: a letter, digit, underscore or hyphen (as ``[\\w-]`` in a pattern)."""
    return char.isalnum() or char in "_-"


# --- entries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlossaryEntry:
    """One name: its Dutch form, its English form, their inflected forms, and other accepted English forms."""

    nl: str
    en: str
    forms: tuple[tuple[str, str], ...] = ()  # (Dutch form, English form), besides ``nl`` itself
    source: str = ""  # where the English form can be checked, e.g. "Wikipedia: Vladimir Putin"
    kind: str = ""  # person, place or organisation
    genitive: bool = True
    variants: tuple[str, ...] = ()  # other English renderings a correct output may use ("U.S.", "US")
    common_word: bool = False  # the Dutch form is also an ordinary Dutch word: a name only inside a sentence
    also_english: bool = False  # the Dutch form also occurs in correct English ("Europa League")

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

    def english_forms(self) -> tuple[str, ...]:
        """Every English form that renders this entry: its own, its forms' and its variants, in that order."""
        return tuple(dict.fromkeys([self.en, *(en for _, en in self.all_forms()), *self.variants]))

    def repairable_forms(self) -> tuple[tuple[str, str], ...]:
        """The Dutch forms that, found in an output, are a name left untranslated (not also English forms)."""
        english = set(self.english_forms())
        return tuple((nl, en) for nl, en in self.all_forms() if nl not in english)

    def bannable_forms(self) -> tuple[str, ...]:
        """The Dutch forms a re-decode may forbid: none that is, or opens, an accepted English form."""
        english = [e.casefold() for e in self.english_forms()]
        return tuple(nl for nl, _ in self.repairable_forms() if not any(e.startswith(nl.casefold()) for e in english))

    def canonical(self) -> list[Any]:
        """What determines this entry's effect on a translation (``source`` and ``kind`` are notes).

        Fields added later are included only when set, so the digests of older entries stay the same.
        """
        base: list[Any] = [self.nl, self.en, sorted(self.forms), self.genitive]
        extra: dict[str, Any] = {}
        if self.variants:
            extra["variants"] = sorted(self.variants)
        if self.common_word:
            extra["common_word"] = True
        if self.also_english:
            extra["also_english"] = True
        return [*base, extra] if extra else base

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"nl": self.nl, "en": self.en}
        if self.forms:
            data["forms"] = dict(self.forms)
        if self.variants:
            data["variants"] = list(self.variants)
        if self.source:
            data["source"] = self.source
        if self.kind:
            data["kind"] = self.kind
        if not self.genitive:
            data["genitive"] = False
        if self.common_word:
            data["common_word"] = True
        if self.also_english:
            data["also_english"] = True
        return data


@dataclass(frozen=True)
class TermMatch:
    """A glossary form found in a text: ``text[start:end]`` is ``nl`` (up to NFC and whitespace)."""

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


# --- the glossary ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Glossary:
    """A set of entries; later entries with the same Dutch form replace earlier ones."""

    entries: tuple[GlossaryEntry, ...] = ()
    name: str = ""
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)
    _forms: dict[str, tuple[str, GlossaryEntry]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_initial: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unique = {normalise(e.nl): e for e in self.entries}
        object.__setattr__(self, "entries", tuple(unique.values()))
        forms: dict[str, tuple[str, GlossaryEntry]] = {}
        for entry in self.entries:
            for nl, en in entry.all_forms():
                forms.setdefault(normalise(nl), (en, entry))
        for entry in self.entries:  # a base form wins over another entry's derived form
            forms[normalise(entry.nl)] = (entry.en, entry)
        forms.pop("", None)
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
        """Non-overlapping matches in ``text``, in text order; the longest candidate wins an overlap.

        A ``common_word`` entry's form is skipped where it opens a sentence (there the word is capitalised too).
        """
        if self._pattern is None:
            return []
        norm, offsets = normalised(text)
        candidates = []  # every form at every position where one starts, not just the longest there
        for found in self._pattern.finditer(norm):
            start = found.start(1)
            for form in self._by_initial[norm[start]]:
                end = start + len(form)
                bounded = norm.startswith(form, start) and (end == len(norm) or not _is_word_char(norm[end]))
                if bounded and self._fits(self._forms[form][1], norm, start, end):
                    candidates.append((start, end))
        chosen: list[tuple[int, int]] = []
        taken = bytearray(len(norm))
        for start, end in sorted(candidates, key=lambda c: (c[0] - c[1], c[0])):
            if not any(taken[start:end]):
                chosen.append((start, end))
                taken[start:end] = b"\x01" * (end - start)
        matches = []
        for start, end in sorted(chosen):
            en, entry = self._forms[norm[start:end]]
            first, last = (offsets[start], offsets[end]) if offsets is not None else (start, end)
            matches.append(TermMatch(text[first:last], en, first, last, entry))
        return matches

    @staticmethod
    def _fits(entry: GlossaryEntry, text: str, start: int, end: int) -> bool:
        """Whether the form at ``text[start:end]`` is the entry's name here: a ``common_word`` not opening a
        sentence, an ``also_english`` form not followed by a capitalised word (``Europa Cup``, ``Chili Peppers``)."""
        if entry.common_word and opens_sentence(text, start):
            return False
        return not (entry.also_english and _CAPITALISED_NEXT.match(text, end))

    def dutch_names(self, text: str) -> list[TermMatch]:
        """The Dutch forms in an English ``text`` that no correct English text has: names left untranslated.

        Forms that are accepted English forms of any entry, and ``also_english`` entries, are left out.
        """
        english = self._english_forms()
        return [m for m in self.find(text) if not m.entry.also_english and normalise(m.nl) not in english]

    def _english_forms(self) -> frozenset[str]:
        cached: frozenset[str] | None = self.__dict__.get("_english_cache")
        if cached is None:
            cached = frozenset(form for entry in self.entries for form in entry.english_forms())
            object.__setattr__(self, "_english_cache", cached)
        return cached

    def entry(self, nl: str) -> GlossaryEntry | None:
        """The entry whose base Dutch form is ``nl``."""
        found = self._forms.get(normalise(nl))
        return found[1] if found is not None and normalise(found[1].nl) == normalise(nl) else None

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


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _entry_from_mapping(data: Mapping[str, Any], where: str) -> GlossaryEntry:
    nl, en = data.get("nl"), data.get("en")
    if not isinstance(nl, str) or not isinstance(en, str) or not nl.strip() or not en.strip():
        raise GlossaryError(f"{where}: every term needs non-empty `nl` and `en` strings")
    forms = data.get("forms", {})
    if not isinstance(forms, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in forms.items()):
        raise GlossaryError(f"{where}: `forms` of {nl!r} must map Dutch forms to English forms")
    variants = data.get("variants", [])
    if not _strings(variants):
        raise GlossaryError(f"{where}: `variants` of {nl!r} must be a list of English forms")
    defaults = {"genitive": True, "common_word": False, "also_english": False}
    flags = {key: data.get(key, default) for key, default in defaults.items()}
    if not all(isinstance(v, bool) for v in flags.values()):
        raise GlossaryError(f"{where}: `genitive`, `common_word` and `also_english` of {nl!r} must be true or false")
    return GlossaryEntry(
        nl=normalise(nl),
        en=normalise(en),
        forms=tuple((normalise(k), normalise(v)) for k, v in forms.items() if k.strip() and v.strip()),
        source=str(data.get("source", "")),
        kind=str(data.get("kind", "")),
        variants=tuple(normalise(v) for v in variants if v.strip()),
        **flags,
    )


def parse_toml(text: str, name: str = "") -> Glossary:
    """``[[term]]`` tables: ``nl``, ``en``; optional ``forms``, ``variants``, ``source``, ``kind``, and the flags
    ``genitive``, ``common_word``, ``also_english``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise GlossaryError(f"{name or 'glossary'}: not valid TOML ({error})") from None
    terms = data.get("term", [])
    if not isinstance(terms, list) or not all(isinstance(t, Mapping) for t in terms):
        raise GlossaryError(f"{name or 'glossary'}: `term` must be an array of tables ([[term]])")
    return Glossary(
        tuple(_entry_from_mapping(t, f"{name or 'glossary'} term {i + 1}") for i, t in enumerate(terms)), name
    )


def parse_tsv(text: str, name: str = "") -> Glossary:
    """One term per line: ``nl<TAB>en`` and an optional third column noting the source; ``#`` comments.

    The English column may list accepted variants after the preferred form: ``United States|U.S.|US``.
    """
    entries = []
    for number, row in enumerate(csv.reader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        english = [normalise(e) for e in row[1].split("|") if e.strip()] if len(row) > 1 else []
        if len(row) < 2 or not row[0].strip() or not english:
            raise GlossaryError(f"{name or 'glossary'} line {number}: expected `Dutch<TAB>English`")
        source = row[2].strip() if len(row) > 2 else ""
        entries.append(GlossaryEntry(normalise(row[0]), english[0], source=source, variants=tuple(english[1:])))
    return Glossary(tuple(entries), name)


def load_glossary(path: Path) -> Glossary:
    """A glossary file: TOML when it ends in ``.toml``, else tab-separated."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise GlossaryError(f"cannot read glossary {path}: {error}") from None
    parse = parse_toml if path.suffix.lower() == ".toml" else parse_tsv
    return parse(text, path.name)


@functools.cache
def builtin_glossary() -> Glossary:
    """The shipped Dutch→English news glossary: CLDR's names (``pipeline/data/glossary-cldr.toml``, generated
    by ``pipeline.quality.exonyms``) under the hand-kept ``pipeline/data/glossary.toml``, which wins."""
    entries: list[GlossaryEntry] = []
    for name in BUILTIN_FILES:
        text = resources.files("pipeline").joinpath(name).read_text(encoding="utf-8")
        entries.extend(parse_toml(text, name.rpartition("/")[2]))
    return Glossary(tuple(entries), BUILTIN_NAME)


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


@functools.lru_cache(maxsize=4096)
def _dutch_pattern(form: str) -> re.Pattern[str]:
    """A Dutch form in an output: as written, any whitespace between its words, never inside a longer word."""
    words = r"\s+".join(re.escape(w) for w in form.split())
    return re.compile(rf"(?<![\w-]){words}(?![\w-])")


# What turns a place's English name into its people's or adjective: Chile → Chilean, Russia → Russian.
_DEMONYM = "(?:n|an|ian|ese|i)?s?"


@functools.lru_cache(maxsize=4096)
def english_pattern(form: str, demonyms: bool = False) -> re.Pattern[str]:
    """An English form in an output: as written, capitalised or in capitals, alone or in a hyphenated compound.

    A name of several words also counts in lower case, or with its first word so (``the international
    court of justice``, ``eastern Europe``); with ``demonyms``, also followed by a demonym ending
    (``Chilean``, ``Americans``).
    """
    spellings = dict.fromkeys([form, form[:1].upper() + form[1:], form.upper()])
    if len(form.split()) > 1:
        spellings.update(dict.fromkeys([form.lower(), form[:1].lower() + form[1:]]))
    words = "|".join(r"\s+".join(re.escape(w) for w in s.split()) for s in spellings)
    return re.compile(rf"(?<!\w)(?:{words}){_DEMONYM if demonyms else ''}(?!\w)")


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in pattern.finditer(text)]


def _repair(target: str, match: TermMatch, english_present: bool) -> tuple[str, str]:
    """Replace the entry's Dutch forms in ``target`` (longest first, never inside an accepted English form).

    An ``also_english`` entry's form is replaced only when no English form is there, and only the form
    the source has (``Europa`` may stand in the output for the Europa League). Returns the new target
    and the English form put in for the first form replaced (``""``: none).
    """
    entry = match.entry
    forms = entry.repairable_forms()
    if entry.also_english:
        forms = () if english_present else tuple((nl, en) for nl, en in forms if nl == normalise(match.nl))
    inserted = ""
    for nl, en in sorted(forms, key=lambda pair: -len(pair[0])):
        found = _spans(_dutch_pattern(nl), target)
        if not found:
            continue
        protected = [s for form in entry.english_forms() for s in _spans(english_pattern(form), target)]
        pieces, position = [], 0
        for start, end in found:
            if any(s < end and start < e for s, e in protected):
                continue
            pieces += [target[position:start], en]
            position = end
        if pieces:
            target = "".join(pieces) + target[position:]
            inserted = inserted or en
    return target, inserted


def check_terms(target: str, matches: Sequence[TermMatch]) -> tuple[str, list[TermRecord]]:
    """Check that each term has an English form in ``target``; replace Dutch forms left in it.

    A term is ``applied`` when an English form of its entry (``Putin`` for ``Putin's``, ``U.S.``
    for ``United States``, ``PUTIN``, ``Putin-led``; for a place its demonym, ``Chilean``) is there
    and no Dutch form is; ``repaired``
    when a Dutch form of the entry was there and has been replaced by its English form;
    ``missing`` otherwise. Returns the repaired target (in NFC) and one record per match.
    """
    if not unicodedata.is_normalized("NFC", target):
        target = unicodedata.normalize("NFC", target)
    records: list[TermRecord] = []
    for match in matches:
        entry = match.entry
        english = [match.en, *sorted(set(entry.english_forms()) - {match.en}, key=len, reverse=True)]
        present = any(english_pattern(en).search(target) for en in english)
        target, inserted = _repair(target, match, present)
        place = entry.kind == "place"
        rendered = inserted or next((en for en in english if english_pattern(en, place).search(target)), "")
        status: TermStatus = "repaired" if inserted else "applied" if rendered else "missing"
        records.append(TermRecord(match.nl, match.en, match.start, match.end, status, entry.nl, rendered))
    return target, records


def banned_forms(terms: Iterable[TermRecord], glossary: Glossary | None = None) -> list[str]:
    """The Dutch forms a re-decode must not produce: those of the terms the output misses.

    Never an accepted English form, nor one that opens it (``Brussel`` would ban ``Brussels``).
    """
    banned: set[str] = set()
    for term in terms:
        if term.status != "missing":
            continue
        entry = glossary.entry(term.lemma or term.nl) if glossary is not None else None
        if entry is not None:
            banned.update(entry.bannable_forms())
        elif not term.en.casefold().startswith(term.nl.casefold()):
            banned.add(term.nl)
    return sorted(banned)


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
