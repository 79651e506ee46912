"""Corpus inputs: JSONL records streamed as articles, safe ids, one-line errors, bounded windows."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from pipeline.errors import InputError
from pipeline.runs.corpus import check_doc_id, distinct_inputs, iter_corpus, read_jsonl_corpus, windows
from pipeline.runs.outputs import InputIdentity, run_directory


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def record(doc_id: object, text: object) -> str:
    return json.dumps({"id": doc_id, "text": text}, ensure_ascii=False)


def test_corpus_jsonl_records_become_articles(tmp_path: Path) -> None:
    corpus = write_jsonl(
        tmp_path / "c.jsonl", [record("a-1", "Een zin.\nNog een."), record(7, "Derde\u00a0zin."), "", record("b", "x")]
    )
    items = list(iter_corpus([corpus]))
    assert [i.doc_id for i in items] == ["a-1", "7", "b"]
    assert all(i.error is None and i.article is not None for i in items)
    first = items[0].article
    assert first is not None
    assert first.text == "Een zin.\nNog een." and first.name == "a-1" and first.path == f"{corpus}:1"
    assert items[2].origin == f"{corpus}:4"  # the blank line 3 is skipped, line numbers are the file's


def test_corpus_bad_lines_get_one_line_errors_and_never_stop_the_rest(tmp_path: Path) -> None:
    corpus = tmp_path / "c.jsonl"
    corpus.write_bytes(
        b"\n".join(
            [
                record("ok1", "Goed.").encode(),
                b"{not json",
                b'["a", "list"]',
                json.dumps({"text": "no id"}).encode(),
                record("../escape", "Pad.").encode(),
                record("ok1", "Herhaald id.").encode(),
                record("OK1", "Zelfde id, andere hoofdletters.").encode(),
                record("leeg", "   ").encode(),
                record("geen-tekst", None).encode(),
                b'{"id": "latin", "text": "caf\xe9"}',
                record("nul", "a\u0000b").encode(),
                record("ok2", "Ook goed.").encode(),
            ]
        )
        + b"\n"
    )
    items = list(read_jsonl_corpus(corpus))
    assert [i.doc_id for i in items if i.error is None] == ["ok1", "ok2"]
    errors = [i for i in items if i.error is not None]
    assert len(errors) == 10
    for item in errors:
        message = str(item.error)
        assert "\n" not in message
        assert message.startswith(f"{corpus}:{item.origin.rsplit(':', 1)[1]}")
    by_line = {int(i.origin.rsplit(":", 1)[1]): str(i.error) for i in errors}
    assert "not valid JSON" in by_line[2]
    assert "not a safe folder name" in by_line[5]
    assert "repeats an earlier id" in by_line[6]
    assert "repeats an earlier id" in by_line[7]
    assert "empty" in by_line[8]
    assert "not UTF-8" in by_line[10]


@pytest.mark.parametrize("bad", ["", "..", ".hidden", "a/b", "a\\b", "x" * 121, "-lead", "trail.", "a b", "a..b"])
def test_corpus_unsafe_ids_are_refused(bad: str) -> None:
    with pytest.raises(InputError):
        check_doc_id(bad, "c.jsonl:1")


@pytest.mark.parametrize("good", ["a", "2024-01-05_nos.123", "artikel-één", 12345])
def test_corpus_safe_ids_name_their_output_folder_unchanged(good: object, tmp_path: Path) -> None:
    doc_id = check_doc_id(good, "c.jsonl:1")
    assert run_directory(tmp_path, doc_id, "run") == (tmp_path / str(good) / "run").resolve()


def test_corpus_files_and_directories_beside_jsonl(tmp_path: Path) -> None:
    folder = tmp_path / "dir"
    folder.mkdir()
    (folder / "b.txt").write_text("Tweede.", encoding="utf-8")
    (folder / "a.txt").write_text("Eerste.", encoding="utf-8")
    (folder / ".hidden").write_text("verborgen", encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    other = tmp_path / "a.txt"
    other.write_text("Nog een a.", encoding="utf-8")
    corpus = write_jsonl(tmp_path / "c.jsonl", [record("j1", "Uit het corpus.")])
    items = list(iter_corpus([folder, other, corpus, tmp_path / "missing.txt"]))
    assert [(i.doc_id, i.error is None) for i in items] == [
        ("a", True),
        ("b", True),
        ("empty", False),
        ("a", True),  # asks for the same folder as dir/a.txt; its identity gets it one of its own
        ("j1", True),
        ("missing", False),
    ]
    assert [i.identity for i in items] == [
        InputIdentity.of_file(folder / "a.txt"),
        InputIdentity.of_file(folder / "b.txt"),
        InputIdentity.of_file(folder / "empty.txt"),
        InputIdentity.of_file(other),
        InputIdentity("record", f"{corpus.resolve()}#j1"),
        InputIdentity.of_file(tmp_path / "missing.txt"),
    ]


def test_corpus_distinct_inputs_keep_each_file_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a.txt").write_text("A.")
    (tmp_path / "link.txt").symlink_to(tmp_path / "a.txt")
    monkeypatch.chdir(tmp_path)
    kept, notes = distinct_inputs([Path("a.txt"), tmp_path / "a.txt", Path("link.txt"), Path("b.txt")])
    assert kept == [Path("a.txt"), Path("b.txt")]
    assert notes == [f"{tmp_path / 'a.txt'} is the same input as a.txt: done once",
                     "link.txt is the same input as a.txt: done once"]  # fmt: skip


def test_corpus_is_read_lazily_in_bounded_windows(tmp_path: Path) -> None:
    """Reading 10× more records costs no more memory when each window is let go."""
    text = "De minister sprak gisteren met de burgemeester over de nieuwe plannen. " * 20

    def peak(count: int) -> int:
        corpus = write_jsonl(tmp_path / f"c{count}.jsonl", [record(f"d{i}", text) for i in range(count)])
        tracemalloc.start()
        seen = 0
        for window in windows(iter_corpus([corpus]), 50):
            seen += len(window)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert seen == count
        return top

    small, large = peak(200), peak(2000)
    # Holding the 1,800 extra articles costs about 3.7 MB; only the ids' digests
    # (about 100 bytes each, to catch repeats) may grow.
    assert large - small < 600_000


def test_corpus_windows_split_without_loss() -> None:
    assert list(windows(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(windows([], 3)) == []
    with pytest.raises(ValueError):
        list(windows([1], 0))
