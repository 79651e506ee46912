"""What kind of model made a run, and with which prompt: read from its manifest alone.

A stage's **family** is ``Marian``, ``NLLB`` or ``LLM`` (an instruct model prompted through its chat
template), another encoder-decoder by its ``model_type`` (``BART``, ``PEGASUS``…), or the built-in
engine's model (``extractive``). The first evidence that answers decides:

1. the section's ``prompt``, which only instruct models write: ``LLM``;
2. the built-in engine (no weights): the model's name;
3. the model's ``config.json``, where the recorded path still holds it, read through
   :class:`~pipeline.models.registry.ResolvedModel` and :func:`~pipeline.models.languages.language_codes`:
   the same reading that chose the run's translator (``is_causal_lm``; NLLB's language codes);
4. the hub id, name or path: ``nllb`` is NLLB, ``opus-mt`` or ``marian`` is Marian.

Else the family is unknown (None): an older run of a local model that is no longer on this machine.
Nothing here loads weights or imports a heavy library.

A stage's **prompt label** is its template's name, the short form of its digest (the run
signature's: 8 hex digits) and, for translation, how many earlier sentences it carries:
``translate/eurollm@1a2b3c4d context=2``.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import ModelError
from pipeline.runs.manifest import RunManifest, StageSection

MARIAN = "Marian"
NLLB = "NLLB"
LLM = "LLM"
UNKNOWN = "unknown"  # one stage of several whose family nothing recorded says
BUILTIN_BACKEND = "builtin"  # the extractive summariser's engine: no model files
# Other encoder-decoders by config.json's model_type, as their papers write them.
MODEL_TYPES = {"bart": "BART", "pegasus": "PEGASUS", "m2m_100": "M2M100", "mbart": "mBART", "t5": "T5"}
# Words of a hub id, name or path that name a family, for a model whose files are not here.
NAMED = (("nllb", NLLB), ("opus-mt", MARIAN), ("marian", MARIAN))


def _from_config(path: Path) -> str | None:
    """The family config.json at ``path`` says, or None when there is no readable one."""
    from pipeline.models.languages import language_codes
    from pipeline.models.registry import ResolvedModel

    if not (path / "config.json").is_file():
        return None
    model = ResolvedModel(path.name, path, "local")
    try:
        if model.is_causal_lm:
            return LLM
        model_type = str(model.config().get("model_type") or "")
        if model_type == "marian":
            return MARIAN
        if language_codes(model) is not None:
            return NLLB
    except (ModelError, OSError, ValueError):  # a malformed file: say nothing rather than guess
        return None
    return MODEL_TYPES.get(model_type, model_type or None)


def stage_family(section: StageSection) -> str | None:
    """The family of the model that made one stage (see the module doc for the evidence, in order)."""
    signature = section.signature
    if signature.prompt is not None:
        return LLM
    model = signature.model
    if signature.engine.backend == BUILTIN_BACKEND:
        return model.name or None
    found = _from_config(Path(model.path)) if model.path else None
    if found:
        return found
    for name in (model.hub_id, model.name, model.path):
        lowered = (name or "").lower()
        for word, family in NAMED:
            if word in lowered:
                return family
    return None


def run_family(manifest: RunManifest) -> str | None:
    """A run's families, translator first, joined like its backends (``Marian+extractive``); None when none is known."""
    families = [stage_family(stage) for stage in manifest.stages]
    if not any(families):
        return None
    return "+".join(dict.fromkeys(family or UNKNOWN for family in families))


def prompt_label(section: StageSection) -> str | None:
    """``translate/eurollm@1a2b3c4d context=2``: template, digest's short form, context; None without a prompt."""
    prompt = section.signature.prompt
    if prompt is None:
        return None
    label = f"{prompt.template}@{prompt.digest.removeprefix('sha256:')[:8]}"
    return f"{label} context={prompt.context}" if section.STAGE == "translate" else label


def run_prompt(manifest: RunManifest) -> str | None:
    """A run's prompts, translator first, the summariser's after ``summary:``, as the decoding column is laid out."""
    translator = prompt_label(manifest.translator) if manifest.translator else None
    summarizer = prompt_label(manifest.summarizer) if manifest.summarizer else None
    parts = [translator] if translator else []
    parts += [f"summary: {summarizer}"] if summarizer else []
    return "; ".join(parts) or None
