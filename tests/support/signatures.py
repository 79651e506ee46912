"""Run signatures for tests that build translators and summarisers by hand."""

from __future__ import annotations

from typing import Any

from pipeline.quality.glossary import Glossary
from pipeline.signature import DecodingSection, EngineSection, ModelSection, RunSignature


def signature_for(
    fingerprint: str,
    stage: str = "translate",
    settings: dict[str, Any] | None = None,
    translator: Any = None,
) -> RunSignature:
    """A signature with ``fingerprint`` for a hand-built model on the transformers backend.

    With a ``Seq2SeqTranslator``, its guard policy and glossary fill the quality sections, as a session's would.
    """
    quality = glossary = None
    if translator is not None:
        quality = translator.policy.signature()
        glossary = (translator.glossary or Glossary()).signature()
    return RunSignature(
        stage=stage,
        model=ModelSection("test-model", fingerprint, slug="test-model"),
        engine=EngineSection("transformers"),
        decoding=DecodingSection(settings or {}),
        quality=quality,
        glossary=glossary,
    )
