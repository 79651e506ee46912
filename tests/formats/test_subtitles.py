"""Subtitles: cue count, timings, settings and non-cue blocks survive; sentences spanning cues are redistributed."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
import srt
import webvtt
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import DocumentFormatError
from pipeline.formats.base import FormatOptions, Placed, TranslatedUnit
from pipeline.formats.subtitles import SubtitleDocument, parse, split_words
from tests.conftest import shared_path

FILES = ["comments.vtt", "sample.srt", "sample.vtt", "styles.vtt"]
OPTIONS = FormatOptions()

SPANNING_SRT = (
    "1\n00:00:01,000 --> 00:00:03,000\nDe minister zei gisteren dat hij\n\n"
    "2\n00:00:03,000 --> 00:00:05,500\nhet nieuwe plan morgen\naan de Tweede Kamer\n\n"
    "3\n00:00:05,500 --> 00:00:07,000\nzal voorleggen.\n\n"
    "4\n00:00:07,200 --> 00:00:09,000\nDaarna ging hij naar huis.\n"
)
SPANNING_VTT = "WEBVTT\n\n" + re.sub(r"(\d\d),(\d\d\d)", r"\1.\2", re.sub(r"(?m)^\d\n(?=\d\d:)", "", SPANNING_SRT))


def letters_changed(text: str) -> str:
    """A stand-in translation: every letter becomes another one (ROT13 for a-z, ``z``/``q`` for the rest)."""

    def swap(ch: str) -> str:
        if "a" <= ch.lower() <= "z":
            base = ord("a") if ch.islower() else ord("A")
            return chr(base + (ord(ch) - base + 13) % 26)
        if ch.isalpha():
            return "z" if ch.lower() != "z" else "q"
        return ch

    return "".join(swap(ch) for ch in text)


def same_spans(unit_inlines: tuple) -> tuple[Placed, ...]:
    return tuple(Placed(x.ref, x.start, x.end, "aligned") for x in unit_inlines)


def translate_all(doc: SubtitleDocument) -> bytes:
    return doc.render([TranslatedUnit(letters_changed(u.text), same_spans(u.inlines)) for u in doc.units])


def read_back(data: bytes, fmt: str) -> list[tuple[str, str, str]]:
    """(start, end, text without tags) of each cue, read by the format's own library."""
    text = data.decode("utf-8-sig")
    if fmt == "srt":
        return [(str(s.start), str(s.end), re.sub(r"<[^>]*>", "", s.content)) for s in srt.parse(text)]
    return [(c.start, c.end, html.unescape(c.text)) for c in webvtt.from_string(text).captions]


def blocks(text: str) -> list[str]:
    return re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n"))


@pytest.mark.parametrize("file", FILES)
def test_subtitles_translation_keeps_cues_timings_settings_and_other_blocks(file: str) -> None:
    path = shared_path("documents", "subtitles", file)
    data = path.read_bytes()
    fmt = path.suffix[1:]
    doc = parse(data, path.name, OPTIONS, fmt)
    out = translate_all(doc)
    before, after = read_back(data, fmt), read_back(out, fmt)
    assert len(after) == len(before) == doc.metadata["cues"]
    assert [b[:2] for b in before] == [a[:2] for a in after]
    source, target = data.decode(), out.decode()
    timing = [line for line in source.splitlines() if "-->" in line]
    assert timing == [line for line in target.splitlines() if "-->" in line]  # timings and settings as written
    kept = [b for b in blocks(source) if b.startswith(("NOTE", "STYLE", "WEBVTT"))]
    assert kept == [b for b in blocks(target) if b.startswith(("NOTE", "STYLE", "WEBVTT"))]
    if fmt == "vtt":
        assert [(c.identifier, str(c.settings)) for c in webvtt.from_string(source).captions] == [
            (c.identifier, str(c.settings)) for c in webvtt.from_string(target).captions
        ]
    for (_, _, old), (_, _, new) in zip(before, after, strict=True):
        old_words = {w for w in old.split() if any(ch.isalpha() for ch in w)}
        assert new.split() and not old_words & set(new.split())


@pytest.mark.parametrize("file", FILES)
def test_subtitles_untouched_render_is_byte_identical(file: str) -> None:
    path = shared_path("documents", "subtitles", file)
    data = path.read_bytes()
    doc = parse(data, path.name, OPTIONS, path.suffix[1:])
    assert doc.render([TranslatedUnit(u.text, same_spans(u.inlines)) for u in doc.units]) == data


def test_subtitles_untouched_render_keeps_bom_crlf_entities_and_tags() -> None:
    source = (
        "\ufeffWEBVTT\r\n\r\nintro\r\n00:00:01.000 --> 00:00:02.000 align:start line:0\r\n"
        "<v Anna>Tom &amp; Jerry <i>lachen</i>  \r\n<c.geel>hard</c>.\r\n"
    )
    data = source.encode("utf-8")
    doc = parse(data, "tags.vtt", OPTIONS, "vtt")
    (unit,) = doc.units
    assert unit.text == "Tom & Jerry lachen hard."
    assert [(x.tag, unit.text[x.start : x.end]) for x in unit.inlines] == [
        ("v", "Tom & Jerry lachen hard."),
        ("i", "lachen"),
        ("c", "hard"),
    ]
    assert doc.render([TranslatedUnit(unit.text, same_spans(unit.inlines))]) == data


def test_subtitles_sentence_over_three_cues_is_one_unit_redistributed_without_loss() -> None:
    doc = parse(SPANNING_SRT.encode(), "spanning.srt", OPTIONS, "srt")
    assert [u.text for u in doc.units] == [
        "De minister zei gisteren dat hij het nieuwe plan morgen aan de Tweede Kamer zal voorleggen.",
        "Daarna ging hij naar huis.",
    ]
    english = "Yesterday the minister said that tomorrow he will put the new plan before the House of Representatives."
    out = doc.render([TranslatedUnit(english), TranslatedUnit("Then he went home.")])
    cues = list(srt.parse(out.decode()))
    assert [(c.index, c.start, c.end) for c in cues] == [(c.index, c.start, c.end) for c in srt.parse(SPANNING_SRT)]
    spread = [c.content for c in cues[:3]]
    assert all(spread)
    assert " ".join(" ".join(spread).split()) == english
    assert doc.metadata["redistribution"][0][0][0] == 0  # how the unit was split is recorded
    assert "\n" in cues[1].content and all(len(line) <= 42 for line in cues[1].content.split("\n"))
    assert cues[3].content == "Then he went home."


def test_subtitles_tags_follow_their_words_and_are_reopened_across_cues() -> None:
    source = (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Anna>Ik heb <i>het boek</i>\n\n"
        "00:00:02.000 --> 00:00:03.000\n<v Anna>gisteren gelezen.\n"
    )
    doc = parse(source.encode(), "voice.vtt", OPTIONS, "vtt")
    (unit,) = doc.units
    english = "Yesterday I read the whole book < twice & more."
    v1, i, v2 = unit.inlines
    placed = (
        Placed(v1.ref, 0, 47, "whole"),  # each speaker covered its whole cue: it keeps covering it
        Placed(i.ref, 12, 31, "aligned"),  # "read the whole book" crosses into the second cue
        Placed(v2.ref, 0, 47, "whole"),
    )
    out = doc.render([TranslatedUnit(english, placed)]).decode()
    texts = [c.raw_text for c in webvtt.from_string(out).captions]
    assert texts == ["<v Anna>Yesterday I <i>read the</i>", "<v Anna><i>whole book</i> &lt; twice &amp; more."]
    assert "&lt;" in out and "&amp;" in out
    assert " ".join(html.unescape(re.sub(r"<[^>]*>", "", " ".join(texts))).split()) == english


def test_subtitles_dialogue_cue_breaks_before_each_dash() -> None:
    source = "1\n00:00:01,000 --> 00:00:03,000\n- Neem een kop thee.\n- Het is niet warm.\n"
    doc = parse(source.encode(), "dialogue.srt", OPTIONS, "srt")
    out = doc.render([TranslatedUnit("- Have a cup of tea. - It is not hot.")]).decode()
    assert out.splitlines()[2:] == ["- Have a cup of tea.", "- It is not hot."]


def test_subtitles_grouping_breaks_on_gaps_and_caps_units() -> None:
    def stamp(ms: int) -> str:
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"

    starts = [0, 2000, 4000, 8500, 10000, 12000, 14000, 16000, 18000, 20000]  # 2.6 s after the third cue
    cues = "".join(f"{i + 1}\n{stamp(t)} --> {stamp(t + 1900)}\nwoord {i}\n\n" for i, t in enumerate(starts))
    doc = parse(cues.encode(), "gaps.srt", OPTIONS, "srt")
    assert doc.metadata["cues_per_unit"] == [3, 6, 1]  # at most 6 cues in a unit


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄé.,!?'&<>0123456789", min_size=1, max_size=14), max_size=40
    ),
    fmt=st.sampled_from(["srt", "vtt"]),
)
def test_subtitles_redistribution_keeps_every_word_in_order(words: list[str], fmt: str) -> None:
    source = SPANNING_SRT if fmt == "srt" else SPANNING_VTT
    doc = parse(source.encode(), f"spanning.{fmt}", OPTIONS, fmt)
    translation = " ".join(words)
    out = doc.render([TranslatedUnit(translation), TranslatedUnit(doc.units[1].text)])
    if fmt == "srt":
        cues = [(c.start, c.end, c.content) for c in srt.parse(out.decode())]
        before = [(c.start, c.end) for c in srt.parse(source)]
    else:
        cues = [(c.start, c.end, html.unescape(c.text)) for c in webvtt.from_string(out.decode()).captions]
        before = [(c.start, c.end) for c in webvtt.from_string(source).captions]
    assert [c[:2] for c in cues] == before
    spread = [c[2].split() for c in cues[:3]]
    assert [w for cue in spread for w in cue] == translation.split()
    if len(translation.split()) >= 3:
        assert all(spread)


def test_split_words_follows_the_source_cue_lengths() -> None:
    text = "een twee drie vier vijf zes zeven acht"
    ranges = split_words(text, [10, 30])
    assert [text[a:b] for a, b in ranges] == ["een twee", "drie vier vijf zes zeven acht"]
    assert [text[a:b] for a, b in split_words("een twee", [5, 5, 5])] == ["een", "twee", ""]  # too few words


@pytest.mark.parametrize(
    ("name", "source", "where"),
    [
        ("broken.srt", "1\n00:00:05,000 --> 00:00:04,000\nTerug in de tijd\n", "cue 1 (line 2)"),
        ("broken.srt", "1\n00:00:01,000 --> 00:00:02,000\nGoed\n\n2\n00:00:xx,000 --> 00:00:04,000\nFout\n", "line 6"),
        ("broken.srt", "1\n00:00:01,000 00:00:02,000\nGeen pijl\n", "line 1"),
        ("broken.vtt", "00:00:01.000 --> 00:00:02.000\nGeen kop\n", "line 1"),
        ("broken.vtt", "WEBVTT\n\n00:00:03.000 --> 00:00:02.000\nTerug\n", "line 3"),
        ("broken.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nFout\n", "line 3"),
        ("empty.srt", "", "empty"),
        ("empty.vtt", "WEBVTT\n\nNOTE alleen een opmerking\n", "no cues"),
    ],
)
def test_subtitles_broken_input_is_one_line_error(name: str, source: str, where: str) -> None:
    with pytest.raises(DocumentFormatError) as info:
        parse(source.encode(), name, OPTIONS, name.rsplit(".", 1)[1])
    message = str(info.value)
    assert info.value.code == "E105"
    assert "\n" not in message and message.startswith(f"{name}: ") and where in message


def test_subtitles_timings_read_from_the_file() -> None:
    doc = parse(SPANNING_SRT.encode(), "spanning.srt", OPTIONS, "srt")
    assert [(c.start_ms, c.end_ms) for c in doc.cues][:2] == [(1000, 3000), (3000, 5500)]
    assert timedelta(milliseconds=doc.cues[-1].end_ms) == timedelta(seconds=9)
