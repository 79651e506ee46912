"""Language codes of many-to-many models (NLLB): which token a model must generate first."""

from __future__ import annotations

import json
from typing import Any

from pipeline.errors import ModelError
from pipeline.models.registry import ResolvedModel

_NLLB_TOKENIZERS = frozenset({"NllbTokenizer", "NllbTokenizerFast"})


def _tokenizer_config(model: ResolvedModel) -> dict[str, Any]:
    path = model.path / "tokenizer_config.json"
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    return data if isinstance(data, dict) else {}


def language_codes(model: ResolvedModel) -> tuple[str, str] | None:
    """(source, target) language tokens of a many-to-many model (NLLB); None for a one-pair model."""
    config = model.config()
    tokenizer_class = _tokenizer_config(model).get("tokenizer_class") or config.get("tokenizer_class")
    if config.get("model_type") == "m2m_100" and tokenizer_class in _NLLB_TOKENIZERS:
        return NLLB_LANGUAGES
    return None


def target_language_id(model: ResolvedModel) -> int | None:
    """The id of the target language token, which a many-to-many model must generate first."""
    codes = language_codes(model)
    if codes is None:
        return None
    from tokenizers import Tokenizer

    path = model.path / "tokenizer.json"
    if not path.is_file():
        raise ModelError(f"{model.path}: no tokenizer.json, needed for the language codes of {model.name}")
    found = Tokenizer.from_file(str(path)).token_to_id(codes[1])
    if found is None:
        raise ModelError(f"{model.path}: the tokenizer has no {codes[1]} token")
    return int(found)


# NLLB's language codes for the pair this project translates: the source code starts
# every input, the target code is forced as the first generated token.
NLLB_LANGUAGES: tuple[str, str] = ("nld_Latn", "eng_Latn")
