"""The one error table: every code defined once, in ``pipeline.errors``, and every error class there."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from pipeline import errors

ROOT = Path(__file__).resolve().parent.parent / "pipeline"


def error_classes() -> list[type[errors.Nl2enError]]:
    return [c for _, c in inspect.getmembers(errors, inspect.isclass) if issubclass(c, errors.Nl2enError)]


def test_errors_every_code_is_unique() -> None:
    codes: dict[str, str] = {}
    for cls in error_classes():
        assert "code" in cls.__dict__, f"{cls.__name__} inherits its parent's code; give it its own"
        assert cls.code not in codes, f"{cls.__name__} and {codes[cls.code]} share {cls.code}"
        codes[cls.code] = cls.__name__
    assert len(codes) >= 20


def test_errors_are_all_defined_in_the_table() -> None:
    outside = []
    for path in ROOT.rglob("*.py"):
        if path.name == "errors.py" and path.parent == ROOT:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(b, ast.Name) and (b.id.endswith("Error") or b.id == "PickleRejected") for b in node.bases
            ):
                outside.append(f"{path.relative_to(ROOT.parent)}: {node.name}")
    assert not outside, "define these in pipeline/errors.py:\n" + "\n".join(outside)


def test_errors_a_bad_guard_mode_is_one_error_everywhere() -> None:
    import pytest

    from pipeline.quality.ladder import GuardPolicy, parse_guard_mode, translate_guarded

    with pytest.raises(errors.GuardModeError, match="choose one of retry, flag, off"):
        parse_guard_mode("sometimes")
    with pytest.raises(errors.GuardModeError):
        translate_guarded(None, ["Een zin."], {}, policy=GuardPolicy(mode="sometimes"))  # type: ignore[arg-type]
