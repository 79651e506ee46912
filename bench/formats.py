"""``--only formats``: a web page through nl2en (``--html page``) against its text view translated as plain text.

The question: what does a page cost beyond its text? Both go through the same translator in one
process (``translate_paths``, cache off, guards as default), alternately, so the model, the machine's
load and the segments are the same; only reading the page, placing its inline elements (word
alignment) and writing it back differ. The shared pages (``../shared/documents/html/``) are not Dutch:
each unit's text is replaced by Dutch text of about its length from the seeds (then the corpus
articles), and the page's own renderer (:mod:`pipeline.formats.html`) writes it back, so the markup,
scripts and inline elements stay as they are. See ``bench/README.md``.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.common import ROOT, BenchError, fmt_num
from bench.harness import Bench

HTML_PAGES = ROOT.parent / "shared" / "documents" / "html"
# Real pages of a news article's size: the text of each fits the Dutch sentences at hand with few repeats
# (repeated segments would be translated once, by the batch's de-duplication, in both variants).
PAGES = ("scmp.com.playbook.html", "reuters.com.parasite.html")
QUICK_PAGES = ("scmp.com.playbook.html",)
FORMATS_LIMIT = 1.10  # a page's translation / its text view's, in-process
# A one-sentence page and text for what a process loads once (the engine; the language identifier, which
# only a sentence without a Dutch function word wakes; the alignment model, for a link): timed apart.
WARM_UP_HTML = (
    '<html><head><title>Nieuws</title></head><body><p>Dit is <a href="/x">een zin</a>. Breaking news from Minsk.</p>'
    "</body></html>\n"
)
WARM_UP_TEXT = "Nieuws\n\nDit is een zin. Breaking news from Minsk.\n"


_SENTENCE_MARKS = re.compile(r"[.!?:;\"„”“]")


def dutch_sentences(corpus: Path | None) -> list[str]:
    """Dutch sentences: the seeds' segments, then (for long pages) those of the corpus articles."""
    from pipeline.text.reader import read_article
    from pipeline.text.segment import segment_document

    files = sorted((ROOT / "seeds").glob("*.txt"))
    if corpus is not None and corpus.is_dir():
        files += sorted(corpus.glob("*.txt"))
    return [s.source for f in files for s in segment_document(read_article(f).text).translatable]


class DutchText:
    """Hands out Dutch text of about a given length, whole words, from a stream of sentences."""

    def __init__(self, sentences: Sequence[str]) -> None:
        self._words: Iterator[str] = (w for s in _cycle(sentences) for w in s.split())
        self._next = next(self._words)

    def take(self, length: int) -> str:
        words = [self._next]
        self._next = next(self._words)
        size = len(words[0])
        while size + 1 + len(self._next) <= length:
            size += 1 + len(self._next)
            words.append(self._next)
            self._next = next(self._words)
        return " ".join(words)


def _cycle(sentences: Sequence[str]) -> Iterator[str]:
    while True:
        yield from sentences


def dutch_page(data: bytes, name: str, sentences: Sequence[str]) -> bytes:
    """The page with each unit's text replaced by Dutch text of about its length; every tag and attribute kept.

    The page's own renderer writes it back: inline elements keep their relative place in each unit.
    """
    from pipeline.formats.base import WHOLE_KINDS, FormatOptions, Placed, TranslatedUnit
    from pipeline.formats.html import parse

    parsed = parse(data, name, FormatOptions(html="page"))
    stream = DutchText(sentences)
    units = []
    for unit in parsed.units:
        text = stream.take(len(unit.text))
        if unit.kind in WHOLE_KINDS:  # a title, heading or attribute is one phrase, as the page's own is
            text = _SENTENCE_MARKS.sub("", text)
            text = text[:1].upper() + text[1:]
        ratio = len(text) / max(1, len(unit.text))
        placed = tuple(
            Placed(i.ref, min(len(text), round(i.start * ratio)), min(len(text), round(i.end * ratio)), "proportional")
            for i in unit.inlines
        )
        units.append(TranslatedUnit(text, placed))
    return parsed.render(units)


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def drive_formats(spec: dict[str, Any]) -> dict[str, Any]:
    """One page as HTML (``--html page``) and its text view as .txt through the same translator, alternately.

    Each translation is ``translate_paths`` on one file with the cache off and the default guards;
    the manifest gives ``segment_s``, ``translate_s`` and ``render_s`` (alignment timed inside it);
    reading the page (parse and text view) is timed apart, as the manifest does not hold it.
    """
    from pipeline.engines.factory import EngineOptions
    from pipeline.formats.base import FormatOptions
    from pipeline.runs.batch import BatchPlan, ReadOptions, translate_paths
    from pipeline.runs.corpus import Formats, read_document
    from pipeline.runs.document import segment_article
    from pipeline.runs.sessions import NO_CACHE, TranslatorSpec, open_translator
    from pipeline.text.reader import DEFAULT_MAX_CHARS

    formats = Formats("auto", FormatOptions(html="page"))
    reading = ReadOptions(formats=formats, any_language=True)
    session = open_translator(TranslatorSpec(spec["model"], engine=EngineOptions(backend="ctranslate2")), NO_CACHE)
    translator = session.translator
    align_s: list[float] = []
    aligner = translator.align

    def timed_align(sources: Sequence[str], targets: Sequence[str]) -> list[Any]:
        started = time.perf_counter()
        try:
            return aligner(sources, targets)
        finally:
            align_s.append(time.perf_counter() - started)

    translator.align = timed_align  # type: ignore[method-assign]
    out = Path(spec["out"])
    warm = {"html": out / "warm-up.html", "text": out / "warm-up.txt"}
    out.mkdir(parents=True, exist_ok=True)
    warm["html"].write_text(WARM_UP_HTML, encoding="utf-8")
    warm["text"].write_text(WARM_UP_TEXT, encoding="utf-8")

    def translate(path: Path, folder: str) -> tuple[float, dict[str, Any]]:
        align_s.clear()
        started = time.perf_counter()
        report = translate_paths([path], translator, BatchPlan(out / folder, session.run_name), reading)
        work = time.perf_counter() - started
        if report.failed or len(report.written) != 1:
            raise RuntimeError(f"{path.name}: {report.failed[0][1] if report.failed else 'not written'}")
        return work, json.loads((report.written[0] / "manifest.json").read_text(encoding="utf-8"))

    # what a process pays once, on its first document of each kind: timed on the warm-up documents, then left out
    first = {kind: translate(path, f"warm-{kind}")[0] for kind, path in warm.items()}
    files = {"html": Path(spec["html"]), "text": Path(spec["text"])}
    for path in files.values():  # and what segmenting these very texts loads (the language identifier)
        segment_article(read_document(path, None, DEFAULT_MAX_CHARS, formats))
    runs: dict[str, list[dict[str, Any]]] = {"html": [], "text": []}
    for rep in range(spec["repeats"]):
        for kind in ("html", "text") if rep % 2 == 0 else ("text", "html"):
            work, manifest = translate(files[kind], f"{kind}-{rep}")
            timings = manifest.get("timings", {})
            runs[kind].append({
                "work_s": work, "segment_s": timings.get("segment_s", 0.0),
                "translate_s": timings.get("translate_s", 0.0), "render_s": timings.get("render_s", 0.0),
                "align_s": sum(align_s), "total_s": timings.get("total_s"),
                "segments": manifest.get("segments", {}), "quality": manifest.get("quality", {}),
                "format": manifest.get("input", {}).get("format"),
            })  # fmt: skip
    parse_s: dict[str, float] = {}
    for kind, path in files.items():  # reading: the same call translate_paths makes for each input
        times = []
        for _ in range(max(5, spec["repeats"])):
            started = time.perf_counter()
            read_document(path, None, DEFAULT_MAX_CHARS, formats)
            times.append(time.perf_counter() - started)
        parse_s[kind] = _median(times)
    return {"runs": runs, "parse_s": parse_s, "first_document_s": first}


def prepare_pages(bench: Bench, pages: Sequence[Path], corpus: Path | None) -> list[tuple[Path, Path, Path]]:
    """Each page in Dutch (``<name>.nl.html``) and its text view (``<name>.nl.txt``), in the run's folder."""
    from pipeline.formats.base import FormatOptions, text_view
    from pipeline.formats.html import parse

    sentences = dutch_sentences(corpus)
    folder = bench.tmp / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    prepared = []
    for page in pages:
        dutch = dutch_page(page.read_bytes(), page.name, sentences)
        stem = page.name.removesuffix(".html").replace(".", "-")
        html = folder / f"{stem}.nl.html"
        text = folder / f"{stem}.nl.txt"
        html.write_bytes(dutch)
        text.write_text(text_view(parse(dutch, html.name, FormatOptions(html="page")).units) + "\n", encoding="utf-8")
        prepared.append((page, html, text))
    return prepared


def _split(runs: Sequence[dict[str, Any]], parse_s: float) -> dict[str, float]:
    """The median run's time split: parse, segment, translate, align, render (less align), the rest.

    ``work_s`` is ``translate_paths`` from start to end, reading the file (the parse) included.
    """
    work = _median([r["work_s"] for r in runs])
    parts = {
        "parse_s": parse_s,
        "segment_s": _median([r["segment_s"] for r in runs]),
        "translate_s": _median([r["translate_s"] for r in runs]),
        "align_s": _median([r["align_s"] for r in runs]),
        "render_s": max(0.0, _median([r["render_s"] for r in runs]) - _median([r["align_s"] for r in runs])),
    }
    parts["other_s"] = max(0.0, work - sum(parts.values()))
    return {"work_s": work, **parts}


def bench_formats(bench: Bench, corpus: Path | None) -> dict[str, Any]:
    """Each page through nl2en as HTML and as its text view (.txt), in one child process per page."""
    names = QUICK_PAGES if bench.args.quick else PAGES
    pages = [HTML_PAGES / name for name in names]
    missing = [p for p in pages if not p.is_file()]
    if missing:
        raise BenchError(f"missing pages: {', '.join(map(str, missing))}")
    model = bench.model("marian", bench.args.corpus_tokens)
    ct2 = bench.converted(model)
    rows: dict[str, Any] = {}
    for page, html, text in prepare_pages(bench, pages, corpus):
        spec = {"model": str(model), "html": str(html), "text": str(text), "repeats": bench.repeats,
                "out": str(bench.tmp / "formats-out" / html.stem)}  # fmt: skip
        proc, result = bench.driver("formats-page", spec)
        runs = result["runs"]
        html_split = _split(runs["html"], result["parse_s"]["html"])
        text_split = _split(runs["text"], result["parse_s"]["text"])
        html_s, text_s = html_split["work_s"], text_split["work_s"]
        segments = {k: runs[k][0]["segments"].get("translated") for k in runs}
        rows[page.name] = {
            "page_bytes": page.stat().st_size, "dutch_bytes": html.stat().st_size,
            "text_chars": len(text.read_text(encoding="utf-8")), "segments": segments,
            "html": html_split, "text": text_split, "html_s": html_s, "text_s": text_s, "ratio": html_s / text_s,
            "quality": {k: runs[k][0]["quality"] for k in runs}, "runs": runs, "wall_s": proc.wall_s,
            "rss_mib": proc.rss_mib, "first_document_s": result["first_document_s"],
        }  # fmt: skip
        print(f"  {page.name}: HTML {html_s:.2f} s, text view {text_s:.2f} s ({html_s / text_s:.3f}×), "
              f"{segments['html']}/{segments['text']} segments; HTML split: parse {html_split['parse_s']:.3f}, "
              f"segment {html_split['segment_s']:.3f}, translate {html_split['translate_s']:.2f}, align "
              f"{html_split['align_s']:.3f}, render {html_split['render_s']:.3f}, other {html_split['other_s']:.3f} s",
              flush=True)  # fmt: skip
    return {"pages": rows, "repeats": bench.repeats, "model": bench.model_info(model, ct2),
            "worst_ratio": max(r["ratio"] for r in rows.values()),
            "text_source": "each unit's text replaced by Dutch of about its length: the seeds' sentences, then "
                           "the corpus articles'"}  # fmt: skip


def formats_targets(formats: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The targets row: the worst page's HTML time over its text view's, in-process, ≤ 1.10."""
    if not formats:
        return []
    worst = formats["worst_ratio"]
    ok = worst <= FORMATS_LIMIT
    return [{"key": "formats_html_vs_text", "target": f"web page (`--html page`) / its text view as .txt, in-process "
             f"(worst of {len(formats['pages'])} page(s))", "limit": f"≤ {FORMATS_LIMIT:.2f} ×",
             "measured": round(worst, 3), "unit": "×", "result": "PASS" if ok else "MISS",
             "note": "" if ok else f"{worst / FORMATS_LIMIT - 1:.0%} over", "primary": True}]  # fmt: skip


def render_formats(formats: dict[str, Any], settings: dict[str, Any]) -> list[str]:
    lines = [
        f"**Web pages** (`nl2en translate PAGE --html page --any-language`, no cache, guards as default) against "
        f"the same page's text view as a .txt, through one translator in one process (CTranslate2 int8, "
        f"{settings.get('corpus_tokens')} new tokens per segment); {formats['text_source']}; median of "
        f"{formats['repeats']} run(s). Times in seconds; the HTML split is parse, segment, translate, align, "
        "render, other (language checks, writing the outputs).",
        "",
        "| page | segments (HTML · text) | HTML s | text view s | HTML / text | parse | segment | translate | align "
        "| render | other | peak RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in formats["pages"].items():
        h = row["html"]
        lines.append(
            f"| {name} | {row['segments']['html']} · {row['segments']['text']} | {fmt_num(row['html_s'])} "
            f"| {fmt_num(row['text_s'])} | {row['ratio']:.3f}× | {h['parse_s']:.3f} | {h['segment_s']:.3f} "
            f"| {fmt_num(h['translate_s'])} | {h['align_s']:.3f} | {h['render_s']:.3f} | {h['other_s']:.3f} "
            f"| {fmt_num(row['rss_mib'])} |"
        )
    return [*lines, ""]
