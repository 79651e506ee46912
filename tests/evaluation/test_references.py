"""Reference files: the seed's refs fit its article, bad files fail loudly, refs are found from a run."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.evaluation.references import (
    ReferencesFormatError,
    ReferencesNotFoundError,
    find_references,
    load_references,
    locate,
    missing_snippets,
    refs_path_for,
)
from pipeline.text.reader import read_article
from tests.conftest import ROOT, SEED

REFS_FILES = sorted((ROOT / "seeds").glob("*.refs.toml"))


@pytest.mark.parametrize("refs_file", REFS_FILES, ids=[p.name for p in REFS_FILES])
def test_references_every_snippet_appears_verbatim_in_its_article(refs_file: Path) -> None:
    refs = load_references(refs_file)
    article = refs_file.with_name(refs_file.name.removesuffix(".refs.toml") + ".txt")
    text = read_article(article).text
    assert refs.translations, "a refs file without snippets scores nothing"
    assert [s.nl for s in refs.translations if s.nl not in text] == []
    assert missing_snippets(refs, text) == []


def test_references_seed_file_has_snippets_summary_and_key_facts() -> None:
    refs = load_references(refs_path_for(SEED))
    assert len(refs.translations) == 45
    assert refs.summary is not None and refs.summary.reference.startswith("Russia and Belarus")
    assert "Lukashenko" in refs.summary.key_facts and len(refs.summary.key_facts) == 12
    assert len(refs.sha256) == 64


def test_references_path_replaces_txt_suffix() -> None:
    assert refs_path_for("seeds/a.txt") == Path("seeds/a.refs.toml")
    assert refs_path_for("/x/artikel.TXT") == Path("/x/artikel.refs.toml")
    assert refs_path_for("notes/article") == Path("notes/article.refs.toml")


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ('[[translation]]\nnl = "a"\nen = ', "not valid TOML"),
        ('[[translation]]\nnl = "Een zin."\n', "#1 en must be a non-empty string"),
        ('[[translation]]\nnl = "  "\nen = "x"\n', "#1 nl must be a non-empty string"),
        ('[[translation]]\nnl = "a"\nen = "b"\nengels = "c"\n', "unknown key(s) engels"),
        ('translation = "a"\n', "must be an array of tables"),
        ('[summary]\nreference = "r"\nkey_facts = "Putin"\n', "key_facts must be a list"),
        ('[summary]\nkey_facts = ["Putin"]\n', "[summary] reference must be a non-empty string"),
        ('[sumary]\nreference = "r"\n', "unknown key(s) sumary"),
        ("# nothing here\n", "no [[translation]] entries and no [summary]"),
    ],
)
def test_references_malformed_files_raise_format_error(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "a.refs.toml"
    path.write_text(content)
    with pytest.raises(ReferencesFormatError) as caught:
        load_references(path)
    assert complaint in str(caught.value) and str(path) in str(caught.value)
    assert caught.value.code == "E802"


def test_references_missing_or_binary_file(tmp_path: Path) -> None:
    with pytest.raises(ReferencesNotFoundError) as caught:
        load_references(tmp_path / "none.refs.toml")
    assert caught.value.code == "E801" and "--refs" in str(caught.value)
    binary = tmp_path / "bin.refs.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ReferencesFormatError, match="not UTF-8"):
        load_references(binary)


def test_references_found_from_a_relative_input_path_above_the_run(tmp_path: Path) -> None:
    (tmp_path / "seeds").mkdir()
    refs = tmp_path / "seeds" / "doc.refs.toml"
    refs.write_text('[[translation]]\nnl = "Een zin."\nen = "A sentence."\n')
    run_dir = tmp_path / "outputs" / "doc" / "run"
    run_dir.mkdir(parents=True)
    found = find_references({"input": {"path": "seeds/doc.txt"}}, run_dir)
    assert found == tmp_path / "seeds" / "doc.refs.toml"
    with pytest.raises(ReferencesNotFoundError):
        find_references({"input": {"path": "-"}}, run_dir)


def test_references_locate_prefers_order_and_tolerates_line_breaks() -> None:
    text = "Kop\n\nEen zin. Twee\nzinnen. Een zin."
    assert locate(text, "Een zin.") == (5, 13)
    second = text.rindex("Een zin.")
    assert locate(text, "Een zin.", 14) == (second, second + 8)
    assert locate(text, "Twee zinnen.") == (14, 26)
    assert locate(text, "Drie zinnen.") is None
