"""Guard precision on real news: every guard run over correct Dutch→English pairs, and over damaged copies.

``nl2en eval guards PAIRS.tsv`` (``--damage`` for catch rates). Each ``en`` of a file of correct pairs
(NTREX-128's ``pairs.tsv``) is fed to the guards as if a model had produced it for its ``nl``, and
checked exactly as the pipeline checks output: glossary terms first (``check_terms``, which may
repair), then every guard on the result. Every flag is then a false positive, and every glossary
repair a wrong edit. The damage generators break each ``en`` in one known way, the guard that should
catch it is named, and the catch rate says how often it does:

- ``number``: a number of the output that stands for one of the source's is changed or deleted → ``number_mismatch``;
- ``copy``: the Dutch source copied as output → ``untranslated``;
- ``truncate``: cut to 40 % of its words (rows of 12 words or more) → ``length_ratio``;
- ``loop``: a phrase of 1-4 words repeated 4 more times → ``repetition``;
- ``exonym``: an English exonym (CLDR territory names, plus well-known cities and people) replaced by its
  Dutch form → repaired by the glossary, or flagged ``glossary_missing`` or ``untranslated``;
- ``preamble``, ``refusal``, ``answer``, ``question``, ``explanation``, ``note``: what an instruct model says
  instead of, or around, the translation (an apology, an answer to the content, a remark appended) → ``chatter``;
- ``invented``, ``continuation``: an invented sentence, or the rows that follow, appended → ``added_content``.

These last kinds fill templates (``pipeline.evaluation.llm_damage``), each kind in two halves reported apart:
``preamble/dev``, the half the patterns were improved on, and ``preamble/held``, the half only measured. Their
outputs are judged twice: raw (``rate``: the guards alone), and as ``LLMTranslator`` handles them, cleaned by
``clean_output`` first. Cleaned, each row is ``removed`` (cleaning gave back the translation exactly),
``caught`` (the expected guard flags what is left), ``other`` (another guard does) or ``slipped`` (nothing
flags it); ``stopped`` is removed or caught. ``any`` is the share flagged by any guard (the pipeline
retries on any flag). ``cleaning_changes`` counts the correct translations that cleaning would change.

The exonym list is drawn from CLDR and a fixed list of its own (``EXTRA_EXONYMS``), not from the
glossary, so a name the glossary lacks is a miss. Damage is deterministic: each row's generator
draws from ``random.Random(f"{kind}:{index}")``. ``low_confidence`` needs model scores and is not run.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.errors import InputError
from pipeline.evaluation.llm_damage import (
    LLM_KINDS,
    Damage,
    cleaning_changes,
    damage_rng,
    llm_damages,
)
from pipeline.quality.cleaning import clean_output
from pipeline.quality.glossary import Glossary, TermRecord, check_terms
from pipeline.quality.guards import DEFAULT_SETTINGS, FLAG_NAMES, Flag, GuardSettings, check_segment
from pipeline.quality.numbers import dutch_numbers, english_numbers

MEASURED_GUARDS = tuple(name for name in FLAG_NAMES if name != "low_confidence")  # needs model scores
EXAMPLES_PER_KIND = 10


# --- reading --------------------------------------------------------------------------------


def read_pairs(path: Path | str) -> list[tuple[str, str]]:
    """The (nl, en) pairs of a tab-separated file whose header row names ``nl`` and ``en`` (other columns ignored).

    Quotes are ordinary characters (news text is full of them): no field is quoted, and a tab cannot
    occur inside one. Blank lines are skipped; a row is the pair's ``index`` among the others (from 0).
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            header = next(reader, None)
            if header is None:
                raise InputError(f"{path}: empty file", hint="a header row with `nl` and `en` columns comes first")
            columns = [name.strip().lstrip("\ufeff") for name in header]
            missing = [name for name in ("nl", "en") if name not in columns]
            if missing:
                names = " and ".join(f"`{m}`" for m in missing)
                raise InputError(
                    f"{path}: the header row has no {names} column{'s' if len(missing) > 1 else ''}",
                    hint=f"it has {columns}",
                )
            nl_at, en_at = columns.index("nl"), columns.index("en")
            pairs = []
            for line, row in enumerate(reader, 2):
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) <= max(nl_at, en_at):
                    raise InputError(f"{path} line {line}: {len(row)} field(s), the header has {len(columns)}")
                pairs.append((row[nl_at], row[en_at]))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(f"cannot read {path}: {error}") from None
    return pairs


# --- evaluating -----------------------------------------------------------------------------


def _repairs(records: Sequence[TermRecord]) -> list[dict[str, str]]:
    """The terms whose Dutch form was in the output and got replaced (``check_terms``'s ``repaired`` status)."""
    return [{"nl": r.nl, "en": r.rendered or r.en} for r in records if r.status == "repaired"]


def evaluate_one(
    source: str, target: str, glossary: Glossary | None, settings: GuardSettings = DEFAULT_SETTINGS
) -> tuple[list[Flag], list[dict[str, str]]]:
    """Every guard's flags for ``target`` as output for ``source``, and the glossary repairs made first.

    As the pipeline does (``pipeline.quality.ladder``): terms are checked and repaired, then the guards
    run on the repaired output.
    """
    records: list[TermRecord] = []
    if glossary is not None:
        target, records = check_terms(target, glossary.find(source))
    flags = check_segment(source, target, terms=records, settings=settings)
    return flags, _repairs(records)


def evaluate_pairs(
    pairs: Sequence[tuple[str, str]], glossary: Glossary | None = None, settings: GuardSettings = DEFAULT_SETTINGS
) -> dict[str, Any]:
    """Run every guard and the glossary check over correct pairs, each ``en`` taken as output.

    Returns ``rows`` (per pair: index, nl, en, flags with evidence, repairs) and ``totals``:
    ``{"pairs": N, "flagged": {guard: count}, "any": rows with a flag, "repaired": rows with a repair}``.
    """
    rows: list[dict[str, Any]] = []
    flagged = dict.fromkeys(MEASURED_GUARDS, 0)
    any_flag = repaired = 0
    for index, (source, target) in enumerate(pairs):
        flags, repairs = evaluate_one(source, target, glossary, settings)
        for flag in flags:
            flagged[flag.name] = flagged.get(flag.name, 0) + 1
        any_flag += bool(flags)
        repaired += bool(repairs)
        rows.append(
            {"index": index, "nl": source, "en": target, "flags": [f.to_dict() for f in flags], "repairs": repairs}
        )
    return {
        "rows": rows,
        "totals": {"pairs": len(pairs), "flagged": flagged, "any": any_flag, "repaired": repaired},
    }


def rates(totals: dict[str, Any]) -> dict[str, float]:
    """Each guard's false-positive rate, ``any`` and ``repaired`` included, from ``evaluate_pairs``'s totals."""
    n = totals["pairs"] or 1
    out = {name: count / n for name, count in totals["flagged"].items()}
    out["any"] = totals["any"] / n
    out["repaired"] = totals["repaired"] / n
    return out


# --- damage ---------------------------------------------------------------------------------


_rng = damage_rng


_DIGITS = re.compile(r"\d+")


def damage_number(index: int, source: str, target: str) -> Damage | None:
    """Change one digit of, or delete, a number of the output that matches one of the source's numbers.

    Only numbers written with digits that the guard itself pairs with a source number are touched, so
    the damage always removes something the guard looks for (unless the same value occurs again).
    """
    source_keys = {n.key for n in dutch_numbers(source)} | {("percent", n.value) for n in dutch_numbers(source)}
    candidates = [n for n in english_numbers(target) if n.key in source_keys and _DIGITS.search(n.text)]
    if not candidates:
        return None
    rng = _rng("number", index)
    mention = rng.choice(candidates)
    runs = list(_DIGITS.finditer(mention.text))
    run = rng.choice(runs)
    start, end = mention.start + run.start(), mention.start + run.end()
    if rng.random() < 0.5:
        position = rng.randrange(start, end)
        old = target[position]
        choices = [d for d in "0123456789" if d != old and not (d == "0" and position == start and end - start > 1)]
        new = rng.choice(choices)
        damaged = target[:position] + new + target[position + 1 :]
        detail = {"action": "change", "from": target[start:end], "to": damaged[start:end], "mention": mention.text}
    else:
        # delete the whole whitespace-delimited token that holds the digits, keeping trailing punctuation
        token_start = start
        while token_start > 0 and not target[token_start - 1].isspace():
            token_start -= 1
        token_end = end
        while token_end < len(target) and not target[token_end].isspace():
            token_end += 1
        token = target[token_start:token_end]
        kept = re.search(r"[.,;:!?)\]’'\"”]*$", token)
        tail = kept.group(0) if kept and token_start + kept.start() >= end else ""
        damaged = re.sub(r"\s{2,}", " ", target[:token_start] + tail + target[token_end:]).strip()
        damaged = re.sub(r"\s+([.,;:!?])", r"\1", damaged)
        detail = {"action": "delete", "token": token, "mention": mention.text}
    return Damage("number", index, source, target, damaged, "number_mismatch", detail)


def damage_copy(index: int, source: str, target: str) -> Damage | None:
    """The Dutch source given as the output."""
    return Damage("copy", index, source, target, source, "untranslated", {})


TRUNCATE_MIN_WORDS = 12
TRUNCATE_KEEP = 0.4


def damage_truncate(index: int, source: str, target: str) -> Damage | None:
    """The output cut to its first 40 % of words (only outputs of 12 words or more): a decoder that stopped early."""
    words = target.split()
    if len(words) < TRUNCATE_MIN_WORDS:
        return None
    keep = max(1, round(len(words) * TRUNCATE_KEEP))
    damaged = " ".join(words[:keep])
    detail = {"words": len(words), "kept": keep, "ratio": round(len(damaged) / max(len(source), 1), 3)}
    return Damage("truncate", index, source, target, damaged, "length_ratio", detail)


def damage_loop(index: int, source: str, target: str) -> Damage | None:
    """A phrase of 1-4 words of the output repeated 4 more times right after itself: a decoding loop."""
    words = target.split()
    if not words:
        return None
    rng = _rng("loop", index)
    size = rng.randint(1, min(4, len(words)))
    start = rng.randrange(0, len(words) - size + 1)
    phrase = words[start : start + size]
    looped = words[: start + size] + phrase * 4 + words[start + size :]
    return Damage("loop", index, source, target, " ".join(looped), "repetition", {"phrase": " ".join(phrase)})


# English → Dutch exonyms that CLDR's territory names do not hold: parts of the UK, alternative country
# names, cities and people. Dutch forms from the Dutch Wikipedia / Taalunie spelling.
EXTRA_EXONYMS: dict[str, str] = {
    en.strip(): nl.strip()
    for en, nl in re.findall(
        r"([^=;]+)=([^;]+)",
        "Scotland=Schotland; England=Engeland; Northern Ireland=Noord-Ierland; Britain=Brittannië; "
        "Great Britain=Groot-Brittannië; Turkey=Turkije; Czech Republic=Tsjechië; Hong Kong=Hongkong; "
        "Ivory Coast=Ivoorkust; Europe=Europa; Africa=Afrika; Asia=Azië; America=Amerika; Moscow=Moskou; "
        "Beijing=Peking; London=Londen; Paris=Parijs; Brussels=Brussel; The Hague=Den Haag; Antwerp=Antwerpen; "
        "Berlin=Berlijn; Cologne=Keulen; Munich=München; Prague=Praag; Warsaw=Warschau; Vienna=Wenen; "
        "Athens=Athene; Lisbon=Lissabon; Copenhagen=Kopenhagen; Geneva=Genève; Strasbourg=Straatsburg; "
        "Bucharest=Boekarest; Milan=Milaan; Naples=Napels; Venice=Venetië; Jerusalem=Jeruzalem; Cairo=Caïro; "
        "Tehran=Teheran; Baghdad=Bagdad; Beirut=Beiroet; Tokyo=Tokio; Mecca=Mekka; Kyiv=Kiev; "
        "Saint Petersburg=Sint-Petersburg; St Petersburg=Sint-Petersburg; Putin=Poetin; Yeltsin=Jeltsin; "
        "Gorbachev=Gorbatsjov; Khrushchev=Chroesjtsjov; Lukashenko=Loekasjenko; Shoigu=Sjojgoe; "
        "Tchaikovsky=Tsjaikovski; Tolstoy=Tolstoj; Dostoevsky=Dostojevski; Zelensky=Zelenski",
    )
}
# CLDR names that are also common first names or read otherwise in English news.
EXONYM_SKIP = frozenset({"Chad", "Jordan", "St. Martin"})


def exonym_table(use_cldr: bool = True) -> tuple[dict[str, str], str]:
    """English → Dutch exonyms: CLDR territory names that differ (via ``babel``), plus ``EXTRA_EXONYMS``.

    Returns the table and where it came from (``"cldr+extra"`` or ``"extra"`` when babel is not installed).
    """
    table: dict[str, str] = {}
    origin = "extra"
    if use_cldr:
        try:
            from babel import Locale
        except ImportError:
            pass
        else:
            english, dutch = Locale("en").territories, Locale("nl").territories
            for code, name in english.items():
                if code[0] in "QXZ" or code not in dutch:  # private-use and unknown regions; "world" is lower-case
                    continue
                if name[0].isupper() and name.casefold() != dutch[code].casefold() and name not in EXONYM_SKIP:
                    table[name] = dutch[code]
            origin = "cldr+extra"
    for en, nl in EXTRA_EXONYMS.items():
        table.setdefault(en, nl)
    return {en: nl for en, nl in table.items() if en != nl}, origin


def _exonym_pattern(table: dict[str, str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(name) for name in sorted(table, key=lambda n: (-len(n), n)))
    return re.compile(rf"(?<![\w-])({alternatives})(?![\w-])")


def damage_exonym(index: int, source: str, target: str, table: dict[str, str]) -> Damage | None:
    """One English exonym of the output (every occurrence of it, and of its genitive) replaced by its Dutch form."""
    pattern = _exonym_pattern(table)
    names = sorted({m.group(1) for m in pattern.finditer(target)} if table else ())
    if not names:
        return None
    name = _rng("exonym", index).choice(names)
    dutch = table[name]
    damaged = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", dutch, target)
    detail = {
        "en": name,
        "nl": dutch,
        "source_has_dutch_form": bool(re.search(rf"(?<![\w-]){re.escape(dutch)}s?(?![\w-])", source)),
    }
    return Damage("exonym", index, source, target, damaged, "glossary", detail)


Generator = Callable[[int, str, str], Damage | None]


def damages(pairs: Sequence[tuple[str, str]], exonyms: dict[str, str] | None = None) -> dict[str, list[Damage]]:
    """Every damage kind applied to every row it fits, in row order."""
    table = exonyms if exonyms is not None else exonym_table()[0]
    generators: dict[str, Generator] = {
        "number": damage_number,
        "copy": damage_copy,
        "truncate": damage_truncate,
        "loop": damage_loop,
        "exonym": lambda i, s, t: damage_exonym(i, s, t, table),
    }
    out: dict[str, list[Damage]] = {}
    for kind, generate in generators.items():
        out[kind] = [d for i, (s, t) in enumerate(pairs) if (d := generate(i, s, t)) is not None]
    return out | llm_damages(pairs)


def _caught(damage: Damage, flags: Sequence[Flag], repairs: Sequence[dict[str, str]]) -> bool:
    names = {f.name for f in flags}
    if damage.expected == "glossary":
        return bool(repairs) or bool(names & {"glossary_missing", "untranslated"})
    return damage.expected in names


def evaluate_damage(
    pairs: Sequence[tuple[str, str]],
    glossary: Glossary | None = None,
    settings: GuardSettings = DEFAULT_SETTINGS,
    exonyms: dict[str, str] | None = None,
    baseline: dict[str, Any] | None = None,
    examples: int = EXAMPLES_PER_KIND,
) -> dict[str, Any]:
    """Catch rates per damage kind, with examples of misses.

    ``baseline`` (``evaluate_pairs``'s report for the same pairs) tells which rows the expected guard
    already flags undamaged: ``clean`` counts only the other rows, so a false positive is not read as a catch.
    Returns ``{"summary": {kind: {...}}, "records": [per damaged row]}``.
    """
    base = baseline if baseline is not None else evaluate_pairs(pairs, glossary, settings)
    origin = "given"
    if exonyms is None:
        exonyms, origin = exonym_table()
    summary: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    for kind, items in damages(pairs, exonyms).items():
        caught = clean = clean_caught = any_caught = 0
        misses: list[dict[str, Any]] = []
        for damage in items:
            flags, repairs = evaluate_one(damage.source, damage.damaged, glossary, settings)
            hit = _caught(damage, flags, repairs)
            row = base["rows"][damage.index]
            base_flags = [Flag(f["name"], f["evidence"]) for f in row["flags"]]
            pre = _caught(damage, base_flags, row["repairs"])
            caught += hit
            any_caught += bool(flags or repairs)
            clean, clean_caught = clean + (not pre), clean_caught + (hit and not pre)
            record = {
                "damage": kind,
                "index": damage.index,
                "nl": damage.source,
                "en": damage.original,
                "damaged": damage.damaged,
                "expected": damage.expected,
                "detail": damage.detail,
                "caught": hit,
                "flagged_undamaged": pre,
                "flags": [f.to_dict() for f in flags],
                "repairs": list(repairs),
            }
            if kind in LLM_KINDS:
                record["cleaned"] = _cleaned_outcome(damage, flags, repairs, glossary, settings)
            records.append(record)
            if not hit:
                misses.append(record)
        n = len(items)
        summary[kind] = {
            "expected": items[0].expected if items else "",
            "rows": n,
            "caught": caught,
            "rate": caught / n if n else None,
            "clean_rows": clean,
            "clean_caught": clean_caught,
            "clean_rate": clean_caught / clean if clean else None,
            "any_rate": any_caught / n if n else None,
            "misses": len(misses),
            "miss_examples": misses[:examples],
        }
        if kind == "exonym":  # the rows whose Dutch source has the Dutch form (a model could have copied it)
            aligned = [r for r in records if r["damage"] == kind and r["detail"]["source_has_dutch_form"]]
            summary[kind]["aligned_rows"] = len(aligned)
            summary[kind]["aligned_caught"] = sum(r["caught"] for r in aligned)
        if kind in LLM_KINDS:
            summary[kind] |= _cleaned_summary([r["cleaned"] for r in records if r["damage"] == kind])
    changes = cleaning_changes(pairs)
    return {
        "summary": summary,
        "records": records,
        "exonyms": origin,
        "cleaning_changes": {"count": len(changes), "examples": changes[:examples]},
    }


OUTCOMES = ("removed", "caught", "other", "slipped")


def _cleaned_outcome(
    damage: Damage,
    flags: Sequence[Flag],
    repairs: Sequence[dict[str, str]],
    glossary: Glossary | None,
    settings: GuardSettings,
) -> dict[str, Any]:
    """What ``LLMTranslator`` makes of a damaged reply: cleaned first, then guarded (``OUTCOMES``)."""
    cleaned = clean_output(damage.damaged, damage.source)
    if cleaned.text == damage.original.strip():
        return {"outcome": "removed", "text": cleaned.text, "flags": []}
    if cleaned.text != damage.damaged.strip():
        flags, repairs = evaluate_one(damage.source, cleaned.text, glossary, settings)
    outcome = "caught" if _caught(damage, flags, repairs) else "other" if flags or repairs else "slipped"
    return {"outcome": outcome, "text": cleaned.text, "flags": [f.name for f in flags]}


def _cleaned_summary(outcomes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    counts = {name: sum(o["outcome"] == name for o in outcomes) for name in OUTCOMES}
    n = len(outcomes)
    stopped = counts["removed"] + counts["caught"]
    return {"cleaned": counts, "stopped_rate": stopped / n if n else None}


# --- what the command shows -----------------------------------------------------------------


def totals_json(report: dict[str, Any], damage: dict[str, Any] | None = None) -> dict[str, Any]:
    """``--json``: ``{"pairs": N, "flagged": {guard: count}, "any": count}``, and the catch rates with ``--damage``."""
    totals = report["totals"]
    payload: dict[str, Any] = {"pairs": totals["pairs"], "flagged": dict(totals["flagged"]), "any": totals["any"]}
    if damage is not None:
        payload["damage"] = {
            kind: {
                k: s[k]
                for k in (
                    *("expected", "rows", "caught", "rate", "clean_rows", "clean_caught", "clean_rate", "any_rate"),
                    *("cleaned", "stopped_rate"),
                )
                if k in s
            }
            for kind, s in damage["summary"].items()
        }
        payload["cleaning_changes"] = damage["cleaning_changes"]["count"]
    return payload


def row_records(report: dict[str, Any]) -> list[dict[str, Any]]:
    """``--out``: one record per input row, in order: its index, the guards that fired, the glossary repairs."""
    return [
        {"index": row["index"], "flags": [f["name"] for f in row["flags"]], "repairs": row["repairs"]}
        for row in report["rows"]
    ]


def table_lines(report: dict[str, Any]) -> list[str]:
    """The readable table of false positives."""
    totals = report["totals"]
    share = rates(totals)
    lines = [f"{totals['pairs']} correct pairs, each English side fed to the guards as output", ""]
    lines.append(f"{'guard':18} {'false pos.':>10} {'rate':>7}")
    for name, count in totals["flagged"].items():
        lines.append(f"{name:18} {count:10d} {share[name]:7.1%}")
    lines.append(f"{'any':18} {totals['any']:10d} {share['any']:7.1%}")
    lines.append(f"{'glossary repairs':18} {totals['repaired']:10d} {share['repaired']:7.1%}")
    return lines


def _percent(rate: float | None) -> str:
    return f"{rate:7.1%}" if rate is not None else f"{'-':>7}"


def damage_lines(damage: dict[str, Any], examples: bool = True) -> list[str]:
    """The readable table of catch rates, then a few misses of each kind."""
    head = f"{'damage':18} {'expected':14} {'rows':>5} {'caught':>6} {'rate':>7}   {'clean rows':>10} {'rate':>7}"
    lines = ["", f"{head}  {'any':>7}"]
    for kind, s in damage["summary"].items():
        lines.append(
            f"{kind:18} {s['expected']:14} {s['rows']:5d} {s['caught']:6d} {_percent(s['rate'])}"
            f"   {s['clean_rows']:10d} {_percent(s['clean_rate'])}  {_percent(s['any_rate'])}"
        )
    lines.append("(clean: rows the expected guard does not already flag undamaged; any: flagged by any guard)")
    lines += [
        "",
        "cleaned first, as the LLM translator does:",
        f"{'damage':18} {'rows':>5}  {'removed':>7} {'caught':>7} {'other':>7} {'slipped':>7}  {'stopped':>7}",
    ]
    for kind, s in damage["summary"].items():
        if "cleaned" in s:
            counts = s["cleaned"]
            lines.append(
                f"{kind:18} {s['rows']:5d}  "
                + " ".join(f"{counts[name]:7d}" for name in OUTCOMES)
                + f"  {_percent(s['stopped_rate'])}"
            )
    lines.append("(stopped: removed by cleaning, or caught by the expected guard after it)")
    changes = damage["cleaning_changes"]
    lines.append(f"cleaning changes {changes['count']} correct translation(s)")
    lines += [f"  cleaned #{c['index']}: {c['stripped']}" for c in changes["examples"]]
    exonym = damage["summary"].get("exonym")
    if exonym and exonym["aligned_rows"]:
        share = exonym["aligned_caught"] / exonym["aligned_rows"]
        lines.append(
            f"exonym rows whose source has the Dutch form: {exonym['aligned_caught']}/{exonym['aligned_rows']}"
            f" caught ({share:.1%})"
        )
    lines.append(f"(exonym list: {damage.get('exonyms', '')})")
    if examples:
        for kind, s in damage["summary"].items():
            for miss in s["miss_examples"]:
                lines.append(f"  miss {kind} #{miss['index']}: {miss['detail']} {miss['damaged'][:140]!r}")
    return lines


# --- false positives on the reference translations ------------------------------------------


def false_positive_rates(
    pairs: Sequence[tuple[str, str]], glossary: Glossary | None = None, settings: GuardSettings = DEFAULT_SETTINGS
) -> dict[str, Any]:
    """``evaluate_pairs`` as rates, counts and examples per guard (``segments``: how many pairs)."""
    report = evaluate_pairs(pairs, glossary, settings)
    totals = report["totals"]
    examples: dict[str, list[dict[str, Any]]] = {}
    for row in report["rows"]:
        for flag in row["flags"]:
            examples.setdefault(flag["name"], []).append(
                {"nl": row["nl"], "en": row["en"], "evidence": flag["evidence"]}
            )
    return {
        "segments": totals["pairs"],
        "rates": {name: rate for name, rate in rates(totals).items() if name in MEASURED_GUARDS},
        "counts": dict(totals["flagged"]),
        "examples": examples,
    }


def reference_false_positives(paths: Sequence[Path], glossary: Glossary | None = None) -> dict[str, Any]:
    """``false_positive_rates`` over the ``[[translation]]`` pairs of reference files (``*.refs.toml``)."""
    from pipeline.evaluation.references import load_references

    pairs = [(s.nl, s.en) for path in paths for s in load_references(path).translations]
    return false_positive_rates(pairs, glossary)
