"""The run signature: every field that can change an output is in the cache key, or listed as not."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest

from pipeline.quality.glossary import builtin_glossary
from pipeline.quality.guards import GuardSettings
from pipeline.quality.ladder import GuardPolicy
from pipeline.runs.memory import cache_key
from pipeline.signature import (
    LOGIC_VERSION,
    NOT_IN_KEY,
    DecodingSection,
    EngineSection,
    ExecutorSection,
    ModelSection,
    RunSignature,
)


def full_signature() -> RunSignature:
    """A signature with every section present and every field set."""
    return RunSignature(
        stage="translate",
        model=ModelSection(
            "opus-mt-nl-en", "sha256:abc", "Helsinki-NLP/opus-mt-nl-en", "main", "/m", {"source": "x"}, "s"
        ),
        engine=EngineSection("ctranslate2", "cpu", "int8", ("ctranslate2",)),
        decoding=DecodingSection({"num_beams": 4}, {"num_beams": "generation_config"}, {"num_beams": 4}),
        quality=GuardPolicy(mode="retry", threshold=-1.5).signature({"percentile": 5}),
        glossary=builtin_glossary().signature(),
        executor=ExecutorSection("local", {"workers": 1}),
    )


def changed(value: Any) -> Any:
    """A different value of the same kind."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-other"
    if value is None:
        return "set"
    if isinstance(value, tuple):
        return (*value, "other")
    if isinstance(value, Mapping):
        return {**value, "other": 1}
    raise AssertionError(f"no change for {value!r}")


def with_field(signature: RunSignature, name: str, value: Any) -> RunSignature:
    if "." not in name:
        return dataclasses.replace(signature, **{name: value})
    section, item = name.split(".")
    return dataclasses.replace(
        signature, **{section: dataclasses.replace(getattr(signature, section), **{item: value})}
    )


def key(signature: RunSignature) -> str:
    return cache_key(signature.stage, signature.key_fields(), "Een zin.")


@pytest.mark.parametrize("name", sorted(full_signature().fields()))
def test_signature_every_field_is_keyed_or_listed_as_not_changing_outputs(name: str) -> None:
    base = full_signature()
    other = with_field(base, name, changed(base.fields()[name]))
    if name == "stage":
        assert key(other) != key(base), "the stage is the key's own first field"
    elif name in NOT_IN_KEY:
        assert key(other) == key(base), f"{name} is listed as not changing outputs but changes the key"
    else:
        assert key(other) != key(base), f"{name} can change an output: key it, or list it in NOT_IN_KEY with why"


def test_signature_not_in_key_names_only_real_fields() -> None:
    assert set(NOT_IN_KEY) <= set(full_signature().fields())


def test_signature_quality_holds_every_policy_and_guard_setting() -> None:
    """A field added to the policy or the guards' settings is keyed without further work."""
    section = GuardPolicy().signature()
    policy_fields = {f.name for f in dataclasses.fields(GuardPolicy)} - {"mode", "threshold", "checker"}
    assert set(section.policy) == policy_fields
    assert set(section.policy["guard_settings"]) == {f.name for f in dataclasses.fields(GuardSettings)}
    base = full_signature()
    for name, value in section.policy.items():
        if isinstance(value, Mapping):
            for inner, inner_value in value.items():
                bumped = {**section.policy, name: {**value, inner: changed(inner_value)}}
                other = dataclasses.replace(base, quality=dataclasses.replace(base.quality, policy=bumped))
                assert key(other) != key(base), f"{name}.{inner}"
        else:
            bumped = {**section.policy, name: changed(value)}
            other = dataclasses.replace(base, quality=dataclasses.replace(base.quality, policy=bumped))
            assert key(other) != key(base), name


def test_signature_a_changed_guard_default_misses_the_cache() -> None:
    base = full_signature()
    stricter = GuardPolicy(mode="retry", threshold=-1.5, guard_settings=GuardSettings(copy_chrf=60.0))
    other = dataclasses.replace(base, quality=stricter.signature({"percentile": 5}))
    assert key(other) != key(base)
    assert key(dataclasses.replace(base, version=LOGIC_VERSION + 1)) != key(base)


def test_signature_manifest_reads_back_to_the_same_key() -> None:
    signature = full_signature()
    again = RunSignature.from_manifest(signature.manifest())
    assert again.key_fields() == signature.key_fields()
    assert again.model.fingerprint == "sha256:abc" and again.engine.compute_type == "int8"
    assert again.quality is not None and again.quality.threshold == -1.5
    assert again.glossary is not None and again.glossary.name == "builtin"


def test_signature_format_is_short_and_names_each_section() -> None:
    text = full_signature().format()
    assert text.startswith("model:opus-mt-nl-en@sha256:a|engine:ctranslate2-cpu-int8|decoding:num_beams=4|")
    assert (
        "guards:retry,threshold=-1.5" in text
        and "glossary:builtin@" in text
        and text.endswith(f"executor:local|version:{LOGIC_VERSION}")
    )
