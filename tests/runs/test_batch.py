"""The batch loop: any failure in one document is that document's one line; the others go on."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pipeline.errors import BatchStoppedError, ModelError, Nl2enError
from pipeline.evaluation.score import read_records
from pipeline.runs.batch import BatchPlan, Window, translate_paths
from pipeline.runs.cache import CachedTranslator
from pipeline.translation.translator import Translation, Translator
from tests.runs.test_outputs import LINE_BREAKS
from tests.support.signatures import signature_for


class ScriptedTranslator(Translator):
    """Echoes each source in upper case, or fails the way a source asks it to (the whole call, or that output)."""

    backend = "scripted"
    sources: dict[str, str] = {}  # noqa: RUF012 - read only: where each decoding setting came from

    @property
    def settings(self) -> dict[str, Any]:
        return {}

    def translate_batch(self, sources: Sequence[str], groups: Sequence[Hashable] | None = None) -> list[Translation]:
        text = " ".join(sources)
        if "ENGINE-FAILS" in text:
            raise RuntimeError("CUDA error: device-side assert triggered\nsecond line of the report")
        if "SQLITE-FAILS" in text:
            raise sqlite3.OperationalError("database disk image is malformed")
        if "MODEL-FAILS" in text:
            raise ModelError("cannot load the model weights")
        return [
            Translation("\ud800 lone surrogate", tokens=1)
            if "ENCODING-FAILS" in s
            else Translation(s.upper(), tokens=len(s.split()))
            for s in sources
        ]


def translate(paths: list[Path], out: Path) -> Any:
    translator = CachedTranslator(ScriptedTranslator(), None, signature_for("sha256:scripted"))
    return translate_paths(paths, translator, BatchPlan(out, "r"))


def three_documents(root: Path, middle: str) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in (("een", "Dit is de eerste."), ("twee", f"Dit is {middle}."), ("drie", "Dit is de derde.")):
        path = root / f"{name}.txt"
        path.write_text(text + "\n")
        paths.append(path)
    return paths


@pytest.mark.parametrize("failure", ["os", "sqlite", "engine", "encoding"])
def test_batch_any_failure_in_one_document_is_reported_and_the_batch_goes_on(tmp_path: Path, failure: str) -> None:
    middle = {"os": "de tweede", "sqlite": "SQLITE-FAILS", "engine": "ENGINE-FAILS", "encoding": "ENCODING-FAILS"}
    paths = three_documents(tmp_path / "in", middle[failure])
    out = tmp_path / "out"
    if failure == "os":  # a file sitting where the document's output folder should go
        (out / "twee").mkdir(parents=True)
        (out / "twee" / "r").write_text("in the way")
    report = translate(paths, out)
    assert [p.parent.name for p in report.written] == ["een", "drie"]
    [(name, error)] = report.failed
    assert name == str(paths[1]) and isinstance(error, Nl2enError)
    assert "\n" not in str(error) and str(error)
    expected = {"os": "Error", "sqlite": "OperationalError", "engine": "RuntimeError", "encoding": "UnicodeEncodeError"}
    assert expected[failure] in str(error)


def test_batch_model_failure_stops_the_batch_and_says_so(tmp_path: Path) -> None:
    paths = three_documents(tmp_path / "in", "MODEL-FAILS")
    seen: list[str] = []
    translator = CachedTranslator(ScriptedTranslator(), None, signature_for("sha256:scripted"))
    with pytest.raises(
        BatchStoppedError, match=r"stopped the batch: cannot load the model.*1 written, 1 not processed"
    ):
        translate_paths(paths, translator, BatchPlan(tmp_path / "out", "r",
                        on_document=lambda path, run_dir, error: seen.append(Path(path).name)))  # fmt: skip
    assert seen == ["een.txt", "twee.txt"]
    assert not (tmp_path / "out" / "drie").exists()


def collide(root: Path) -> list[Path]:
    """Three articles in three folders whose names clean to the same folder name (case-folded)."""
    paths = []
    for index, directory in enumerate(("x", "y", "z")):  # the names may collide on this file system too
        (root / directory).mkdir(parents=True)
        paths.append(root / directory / ("a b.txt", "a-b.txt", "A-B.txt")[index])
        paths[-1].write_text(f"Document nummer {index}.\n")
    return paths


def folders_of(report: Any) -> dict[str, str]:
    """Each translated input (by its text) → its document folder."""
    return {(p / "translation.en.txt").read_text(): p.parent.name for p in report.written}


def test_batch_inputs_whose_cleaned_names_collide_get_distinct_folders_in_any_order(tmp_path: Path) -> None:
    paths = collide(tmp_path / "in")
    forward = translate(paths, tmp_path / "one")
    backward = translate(paths[::-1], tmp_path / "two")
    assert not forward.failed and not backward.failed
    assert len(set(folders_of(forward).values())) == 3, "no document replaced another"
    assert len({name.casefold() for name in folders_of(forward).values()}) == 3
    assert folders_of(forward) == folders_of(backward), "argument order decides nothing"
    alone = translate(paths[1:2], tmp_path / "two")  # and a later command finds each input's own folder
    assert folders_of(alone).items() <= folders_of(backward).items()


def test_batch_another_input_of_the_same_name_never_replaces_a_document(tmp_path: Path) -> None:
    three, other = tmp_path / "three" / "d1.txt", tmp_path / "other" / "d1.txt"
    for path, text in ((three, "Het eerste artikel."), (other, "Een ander artikel.")):
        path.parent.mkdir()
        path.write_text(text + "\n")
    out = tmp_path / "out"
    [first] = translate([three], out).written
    [second] = translate([other], out).written
    assert first == out / "d1" / "r" and second.parent.name.startswith("d1-") and second.parent != first.parent
    assert (first / "translation.en.txt").read_text() == "HET EERSTE ARTIKEL.\n", "the first input's run is intact"
    assert translate([three], out).written == [first] and translate([other], out).written == [second]


def test_batch_the_same_input_given_twice_is_translated_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [path, other] = write_documents(tmp_path / "in", {"d1": "Een zin. Nog een zin.", "d2": "Derde zin."})
    monkeypatch.chdir(tmp_path)
    engine = RecordingTranslator()
    given = [path, other, Path("in/d1.txt"), Path("in/../in/d1.txt")]
    report = translate_paths(given, CachedTranslator(engine, None, signature_for("sha256:x")),
                             BatchPlan(tmp_path / "out", "r"))  # fmt: skip
    assert [p.parent.name for p in report.written] == ["d1", "d2"] and not report.failed
    assert sorted(s for call in engine.calls for s in call) == ["Derde zin.", "Een zin.", "Nog een zin."]
    assert report.notes == [f"in/d1.txt is the same input as {path}: done once",
                            f"in/../in/d1.txt is the same input as {path}: done once"]  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith(".")) == ["d1", "d2"]


def test_batch_outputs_get_the_umask_s_modes(tmp_path: Path) -> None:
    [path] = write_documents(tmp_path / "in", {"d1": "Een zin."})
    previous = os.umask(0o002)
    try:
        [run_dir] = translate([path], tmp_path / "out").written
    finally:
        os.umask(previous)
    assert [oct(p.stat().st_mode & 0o777) for p in (run_dir.parent, run_dir)] == ["0o775", "0o775"]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in run_dir.iterdir()} == {
        "translation.en.txt": "0o664", "aligned.jsonl": "0o664", "manifest.json": "0o664"}  # fmt: skip


BREAKS = st.sampled_from(LINE_BREAKS)
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn")) | BREAKS, min_size=1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(middle=TEXT)
@example(middle="een\u2028twee\u2029drie\x85vier\x1cvijf\x0bzes")
def test_batch_any_unicode_round_trips_through_translate_and_score(tmp_path: Path, middle: str) -> None:
    path = tmp_path / "in" / "doc.txt"
    path.parent.mkdir(exist_ok=True)
    text = f"Begin van de zin {middle} einde van de zin.\n"
    path.write_bytes(text.encode("utf-8"))
    report = translate([path], tmp_path / "out")
    if report.failed:  # only the reader may refuse an input (e.g. one that looks binary)
        assert report.failed[0][1].code.startswith("E1"), report.failed
        return
    records = read_records(report.written[0])
    decoded = path.read_bytes().decode("utf-8")  # as read: "\r\n" stays two characters
    for record in records:
        assert decoded[record["start"] : record["end"]] == record["source"]
        if record["translated"]:
            assert record["target"] == record["source"].upper()
    covered = {i for r in records for i in range(r["start"], r["end"])}
    assert all(ch.isspace() for i, ch in enumerate(decoded) if i not in covered), "nothing is lost"


class RecordingTranslator(ScriptedTranslator):
    """The scripted translator, keeping the sources of every call it gets."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def translate_batch(self, sources: Sequence[str], groups: Sequence[Hashable] | None = None) -> list[Translation]:
        self.calls.append(list(sources))
        return super().translate_batch(sources, groups)


def write_documents(root: Path, texts: dict[str, str]) -> list[Path]:
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in texts.items():
        paths.append(root / f"{name}.txt")
        paths[-1].write_text(text + "\n", encoding="utf-8")
    return paths


def test_batch_sentence_shared_by_two_documents_is_translated_once(tmp_path: Path) -> None:
    paths = write_documents(
        tmp_path / "in",
        {
            "a": "Dit is gedeeld. Alleen in het eerste stuk.",
            "b": "Alleen in het tweede stuk. Dit is gedeeld.",
            "c": "Dit is gedeeld.",
        },
    )
    engine = RecordingTranslator()
    report = translate_paths(paths, CachedTranslator(engine, None, signature_for("sha256:x")),
                             BatchPlan(tmp_path / "out", "r"))  # fmt: skip
    assert not report.failed and len(report.written) == 3
    assert len(engine.calls) == 1, "one pass over the whole window"
    assert sorted(engine.calls[0]) == ["Alleen in het eerste stuk.", "Alleen in het tweede stuk.", "Dit is gedeeld."]
    for run_dir in report.written:
        assert "DIT IS GEDEELD." in (run_dir / "translation.en.txt").read_text()


def test_batch_window_misses_are_deduplicated_against_the_cache(tmp_path: Path) -> None:
    from pipeline.runs.memory import TranslationMemory

    paths = write_documents(tmp_path / "in", {"a": "Eerste zin. Tweede zin.", "b": "Tweede zin. Derde zin."})
    with TranslationMemory(tmp_path / "memory.sqlite3") as memory:
        first = RecordingTranslator()
        translate_paths(paths[:1], CachedTranslator(first, memory, signature_for("sha256:x")),
                        BatchPlan(tmp_path / "o1", "r"))  # fmt: skip
        second = RecordingTranslator()
        report = translate_paths(paths, CachedTranslator(second, memory, signature_for("sha256:x")),
                                 BatchPlan(tmp_path / "o2", "r"))  # fmt: skip
    assert second.calls == [["Derde zin."]]
    assert (report.hits, report.misses) == (3, 1)


def test_batch_documents_are_published_as_their_window_completes(tmp_path: Path) -> None:
    paths = write_documents(tmp_path / "in", {f"d{i}": f"Zin nummer {i}. Nog een zin {i}." for i in range(5)})
    engine = RecordingTranslator()
    calls_seen: dict[str, int] = {}
    plan = BatchPlan(
        tmp_path / "out", "r", window=Window(documents=2),
        on_document=lambda path, run_dir, error: calls_seen.setdefault(Path(path).stem, len(engine.calls)),
    )  # fmt: skip
    translate_paths(paths, CachedTranslator(engine, None, signature_for("sha256:x")), plan)
    assert calls_seen == {"d0": 1, "d1": 1, "d2": 2, "d3": 2, "d4": 3}
    assert [len(call) for call in engine.calls] == [4, 4, 2]


def test_batch_window_bounds_the_segments_translated_at_once(tmp_path: Path) -> None:
    long = " ".join(f"Lange zin nummer {i}." for i in range(23))
    paths = write_documents(tmp_path / "in", {"kort1": "Een. Twee.", "lang": long, "kort2": "Drie. Vier. Vijf."})
    engine = RecordingTranslator()
    plan = BatchPlan(tmp_path / "out", "r", window=Window(documents=10, segments=8))
    report = translate_paths(paths, CachedTranslator(engine, None, signature_for("sha256:x")), plan)
    assert not report.failed
    assert max(len(call) for call in engine.calls) <= 8, "no call is larger than the window"
    assert sum(len(call) for call in engine.calls) == 2 + 23 + 3
    text = (tmp_path / "out" / "lang" / "r" / "translation.en.txt").read_text()
    assert text.strip() == long.upper()


def test_batch_failure_inside_a_window_is_isolated_to_its_document(tmp_path: Path) -> None:
    paths = write_documents(
        tmp_path / "in", {"een": "Goed. Gedeeld.", "twee": "ENGINE-FAILS hier. Gedeeld.", "drie": "Ook goed."}
    )
    engine = RecordingTranslator()
    report = translate_paths(paths, CachedTranslator(engine, None, signature_for("sha256:x")),
                             BatchPlan(tmp_path / "out", "r"))  # fmt: skip
    assert [p.parent.name for p in report.written] == ["een", "drie"]
    [(name, error)] = report.failed
    assert name == str(paths[1]) and "RuntimeError" in str(error) and "\n" not in str(error)
    assert len(engine.calls[0]) == 4, "the window was tried as a whole first"


def test_batch_summaries_claim_folders_by_input_and_do_a_repeat_once(tmp_path: Path) -> None:
    """``process_batch`` (the summary stage's loop) names folders by input too, and does a repeated file once."""
    from pipeline.runs.sessions import SummarizerSpec, open_summarizer
    from pipeline.runs.summary_stage import summarize_paths

    first, second = tmp_path / "a" / "doc.txt", tmp_path / "b" / "doc.txt"
    for path, text in ((first, "One sentence here. Another one."), (second, "A different text. Its second line.")):
        path.parent.mkdir()
        path.write_text(text + "\n")
    session = open_summarizer(SummarizerSpec("extractive", sentences=1))
    report = summarize_paths([second, first, second], session, BatchPlan(tmp_path / "out", "s"))
    assert not report.failed and report.notes == [f"{second} is the same input as {second}: done once"]
    folders = {p.parent.name for p in report.written}
    assert len(report.written) == 2 and "doc" in folders and len(folders) == 2
    owner = json.loads((tmp_path / "out" / "doc" / ".nl2en-input.json").read_text())["key"]
    assert owner == str(min(first, second)), "the bare name went to the smallest identity, not the first argument"


def test_batch_window_stopped_by_ctrl_c_resumes_and_writes_what_a_clean_run_writes(tmp_path: Path) -> None:
    """Ctrl-C inside a window keeps the decodes done so far; the rerun does the rest and publishes the same files."""
    from pipeline.runs.memory import TranslationMemory
    from tests.runs.test_cache import StoppingEngine, budget_script, budget_translator

    script = budget_script(36)
    sentences = list(script)
    paths = write_documents(tmp_path / "in", {f"d{d}": " ".join(sentences[d * 12 : d * 12 + 12]) for d in range(3)})
    clean_engine = StoppingEngine(script)
    clean = translate_paths(paths, budget_translator(clean_engine, None), BatchPlan(tmp_path / "clean", "r"))
    assert not clean.failed and clean_engine.decodes("wider_beam") == 6  # two of four in each document
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        stopped = StoppingEngine(script, stop_at=6)
        with pytest.raises(KeyboardInterrupt):
            translate_paths(paths, budget_translator(stopped, memory), BatchPlan(tmp_path / "out", "r"))
    assert not list((tmp_path / "out").glob("*/r")), "stopped inside the window: nothing published"
    with TranslationMemory(tmp_path / "tm.sqlite3") as memory:
        again = StoppingEngine(script)
        report = translate_paths(paths, budget_translator(again, memory), BatchPlan(tmp_path / "out", "r"))
    assert not report.failed and again.decoded() == clean_engine.decoded() - 5 * 4
    for path in paths:
        for name in ("aligned.jsonl", "translation.en.txt"):
            fresh = (tmp_path / "clean" / path.stem / "r" / name).read_bytes()
            assert (tmp_path / "out" / path.stem / "r" / name).read_bytes() == fresh, f"{path.stem}/{name}"
