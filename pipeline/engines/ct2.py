"""The CTranslate2 backend: conversion, tokenisation without transformers, decoding.

Models are converted once with CTranslate2's transformers converter into
``models/ct2/<slug>-<quantization>/`` (torch is needed for that, once) and reused
while the source model's fingerprint is unchanged. At run time neither torch nor
transformers is imported: Marian models are tokenised with sentencepiece (and Moses
punctuation normalisation, as ``MarianTokenizer`` offers), others with the
``tokenizers`` library from their ``tokenizer.json``. Checkpoints without one (distilbart
has only ``vocab.json`` + ``merges.txt``, PEGASUS ``spiece.model``) get the one their
transformers tokenizer class builds from those files, saved once at conversion time
into the converted directory, so both engines tokenise alike.

CTranslate2 reads no ``generation_config.json``, so every decoding setting is mapped
explicitly (:func:`ct2_options`); see the comments there for the two settings whose
semantics differ (forced BOS and forced EOS).

Word alignments come with every decode: ``return_attention`` gives each hypothesis's attention,
one row per generated token, from head 0 of the last decoder layer (what converted models
select by default; for Marian the head trained with guided alignment), as the transformers
engine reads it, and each ``Candidate.links`` is read from it. It is asked for always: on the
bench-size Marian (int8, beam 4, CPU) a decode with it took under 1 % longer than one without.
``CT2Engine.align`` gives links for any other (source, target) pair: the target forced as the
prefix, whose tokens' attention CTranslate2 returns too (the same rows a decode of those
tokens returns, so a decode's links are what ``align`` gives for its tokens).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import tempfile
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pipeline.engines.protocol import Candidate, DecodeRequest, Links
from pipeline.engines.seq2seq import TokenMemo, attention_links, length_sorted_batches, token_words
from pipeline.errors import ModelError
from pipeline.models.registry import ResolvedModel, models_dir
from pipeline.signature import EngineSection

QUANTIZATIONS = ("int8", "int8_float32", "int8_float16", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
SUPPORTED_MODEL_TYPES = frozenset({"marian", "bart", "pegasus", "m2m_100"})
MARKER = "nl2en-source.json"
# CTranslate2's BART-family converter reads config.normalize_before (and normalize_embedding),
# which transformers v5 configs no longer carry: BART is post-norm with an embedding layer
# norm, PEGASUS pre-norm without one (as the hub configs of both still say).
_LEGACY_CONFIG_KEYS: dict[str | None, dict[str, bool]] = {
    "bart": {"normalize_before": False},
    "pegasus": {"normalize_before": True, "normalize_embedding": False},
}


def ct2_available() -> bool:
    return importlib.util.find_spec("ctranslate2") is not None


def supports(model: ResolvedModel) -> bool:
    """Whether this model can run on CTranslate2 here (installed, and a known architecture)."""
    return ct2_available() and model.config().get("model_type") in SUPPORTED_MODEL_TYPES


def conversion_dir(model: ResolvedModel, quantization: str) -> Path:
    return models_dir() / "ct2" / f"{model.slug}-{quantization}"


def converted_for(target: Path, fingerprint: str) -> bool:
    marker = target / MARKER
    if not marker.is_file() or not (target / "model.bin").is_file():
        return False
    return bool(json.loads(marker.read_text(encoding="utf-8")).get("fingerprint") == fingerprint)


def convert_model(model: ResolvedModel, fingerprint: str, quantization: str = "int8", force: bool = False) -> Path:
    """Convert (or reuse) ``model`` for CTranslate2; returns the converted directory.

    The conversion is written to a temporary directory and renamed into place, so a
    killed conversion never leaves a half-written model behind.
    """
    if quantization not in QUANTIZATIONS:
        raise ModelError(f"unknown quantization {quantization!r}; choose one of {', '.join(QUANTIZATIONS)}")
    target = conversion_dir(model, quantization)
    if not force and converted_for(target, fingerprint) and has_tokenizer(model, target):
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    # Concurrent runs converting the same model wait for one another, then reuse the result.
    with FileLock(str(target) + ".lock"):
        if not force and converted_for(target, fingerprint) and has_tokenizer(model, target):
            return target
        return _convert(model, fingerprint, quantization, target)


def _convert(model: ResolvedModel, fingerprint: str, quantization: str, target: Path) -> Path:
    if not ct2_available():
        raise ModelError("CTranslate2 is not installed", hint="pip install ctranslate2, or use --backend transformers")
    import ctranslate2
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".convert-") as tmp:
        source = Path(tmp) / "hf"
        source.mkdir()
        for item in model.path.iterdir():
            if item.is_file() and item.name != "config.json":
                os.symlink(item.resolve(), source / item.name)
        config = model.config()
        for key, value in _LEGACY_CONFIG_KEYS.get(config.get("model_type"), {}).items():
            config.setdefault(key, value)
        (source / "config.json").write_text(json.dumps(config), encoding="utf-8")
        output = Path(tmp) / "ct2"
        try:
            converter = ctranslate2.converters.TransformersConverter(str(source), low_cpu_mem_usage=True)
            converter.convert(str(output), quantization=quantization, force=True)
            if not own_tokenizer(model):
                save_fast_tokenizer(model, output)
        except Exception as exc:
            raise ModelError(f"cannot convert {model.name} for CTranslate2: {type(exc).__name__}: {exc}") from exc
        (output / MARKER).write_text(
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "model": model.name,
                    "source_path": str(model.path),
                    "quantization": quantization,
                    "ctranslate2": ctranslate2.__version__,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        if target.exists():
            shutil.rmtree(target)
        os.replace(output, target)
    return target


def is_marian(path: Path) -> bool:
    return (path / "source.spm").is_file() and (path / "vocab.json").is_file()


def own_tokenizer(model: ResolvedModel) -> bool:
    """Whether the checkpoint's own files can be tokenised without transformers."""
    return is_marian(model.path) or (model.path / "tokenizer.json").is_file()


def has_tokenizer(model: ResolvedModel, converted: Path) -> bool:
    return own_tokenizer(model) or (converted / "tokenizer.json").is_file()


def save_fast_tokenizer(model: ResolvedModel, target: Path) -> None:
    """Save the ``tokenizer.json`` that the model's transformers tokenizer builds from its files.

    transformers v5 tokenizers for BART (``vocab.json`` + ``merges.txt``, byte-level BPE)
    and PEGASUS (``spiece.model``) are ``tokenizers`` objects, so the saved file
    tokenises exactly as transformers does.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(model.path), trust_remote_code=False)
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise ModelError(f"{model.path}: {type(tokenizer).__name__} has no fast tokenizer to save")
    backend.save(str(target / "tokenizer.json"))


class MarianSentencePiece:
    """opus-mt tokenisation as ``MarianTokenizer`` does it, with sentencepiece and sacremoses only."""

    def __init__(self, path: Path) -> None:
        import sentencepiece

        from pipeline.engines.seq2seq import moses_normalizer

        self.source = sentencepiece.SentencePieceProcessor(model_file=str(path / "source.spm"))
        self.target = sentencepiece.SentencePieceProcessor(model_file=str(path / "target.spm"))
        self.vocab: dict[str, int] = json.loads((path / "vocab.json").read_text(encoding="utf-8"))
        self.normalize = moses_normalizer(ResolvedModel(path.name, path, "local"))
        self.specials = {"</s>", "<pad>", "<unk>"}  # what MarianTokenizer.decode(skip_special_tokens) drops

    def id_to_token(self, index: int) -> str:
        # a scan, not a second 60k-entry map: only a few settings ids are ever looked up
        return next((token for token, i in self.vocab.items() if i == index), "<unk>")

    def encode(self, text: str) -> list[str]:
        pieces = self.source.encode(self.normalize(text) if self.normalize else text, out_type=str)
        return [p if p in self.vocab else "<unk>" for p in pieces] + ["</s>"]

    def encode_target(self, text: str) -> list[str]:
        """Target-side pieces of ``text`` (no end token): what banning a phrase suppresses."""
        return [str(p) for p in self.target.encode(text, out_type=str)]

    def decode(self, tokens: Sequence[str]) -> str:
        text = self.target.decode_pieces([t for t in tokens if t not in self.specials])
        return " ".join(text.replace("\u2581", " ").split())


class FastTokenizer:
    """Tokenisation from ``tokenizer.json`` with the ``tokenizers`` library (BART, PEGASUS, NLLB).

    With ``source_language`` (NLLB) every input is ``<lang> tokens </s>``, as
    ``NllbTokenizer`` does with ``src_lang`` set, whatever language the file was saved with.
    """

    def __init__(self, path: Path, source_language: str | None = None) -> None:
        from tokenizers import Tokenizer
        from tokenizers.processors import TemplateProcessing

        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.specials = {t.content for t in self.tokenizer.get_added_tokens_decoder().values() if t.special}
        if source_language is not None:
            specials = [(t, self.tokenizer.token_to_id(t)) for t in (source_language, "</s>")]
            if any(i is None for _, i in specials):
                raise ModelError(f"{path}: the tokenizer has no {source_language} or </s> token")
            self.tokenizer.post_processor = TemplateProcessing(
                single=[source_language, "$A", "</s>"],
                pair=[source_language, "$A", "$B", "</s>"],
                special_tokens=specials,
            )

    def encode(self, text: str) -> list[str]:
        # Tokens by id: a piece outside the vocabulary keeps its text in ``.tokens`` but is <unk>.
        return [self.id_to_token(i) for i in self.tokenizer.encode(text).ids]

    def id_to_token(self, index: int) -> str:
        return self.tokenizer.id_to_token(index) or "<unk>"

    def encode_target(self, text: str) -> list[str]:
        """Pieces of ``text`` without special tokens: what banning a phrase suppresses."""
        return [self.id_to_token(i) for i in self.tokenizer.encode(text, add_special_tokens=False).ids]

    def decode(self, tokens: Sequence[str]) -> str:
        ids = [i for i in (self.tokenizer.token_to_id(t) for t in tokens) if i is not None]
        return " ".join(self.tokenizer.decode(ids, skip_special_tokens=True).split())


def load_tokenizer(model: ResolvedModel, converted: Path | None = None) -> MarianSentencePiece | FastTokenizer:
    """The model's tokenizer without transformers: its own files, else the converted directory's."""
    from pipeline.models.languages import language_codes

    if is_marian(model.path):
        return MarianSentencePiece(model.path)
    codes = language_codes(model)
    for path in (model.path, converted):
        if path is not None and (path / "tokenizer.json").is_file():
            return FastTokenizer(path, codes[0] if codes else None)
    raise ModelError(
        f"{model.path}: no tokenizer.json or Marian sentencepiece files for CTranslate2",
        hint="use --backend transformers",
    )


def ct2_options(settings: Mapping[str, Any], id_to_token: Any, vocabulary: set[str]) -> dict[str, Any]:
    """Map transformers decoding settings onto ``translate_batch`` options, explicitly.

    - Lengths: ``max_length``/``min_length`` count the decoder start token in transformers;
      CTranslate2 counts generated tokens (a target prefix included).
    - ``forced_eos_token_id``: transformers forces ``</s>`` as the last token when the
      length limit is reached; CTranslate2 would emit one more content token instead. One
      step less gives the same content tokens.
    - ``forced_bos_token_id`` (BART): becomes a target prefix, removed from the output.
    - ``bad_words_ids``: suppressed sequences (tokens the converted vocabulary dropped,
      such as Marian's ``<pad>``, cannot be generated anyway).
    """
    max_new = settings.get("max_new_tokens")
    if max_new is None:
        max_new = int(settings.get("max_length", 257)) - 1
    min_new = settings.get("min_new_tokens")
    if min_new is None:
        min_new = max(0, int(settings.get("min_length", 0) or 0) - 1)
    forced_eos = settings.get("forced_eos_token_id") is not None
    if forced_eos and min_new < max_new:
        max_new -= 1
    options: dict[str, Any] = {
        "beam_size": int(settings.get("num_beams", 1) or 1),
        "max_decoding_length": max(1, int(max_new)),
        "min_decoding_length": int(min_new),
        "length_penalty": float(settings.get("length_penalty", 1.0) or 1.0),
        "repetition_penalty": float(settings.get("repetition_penalty", 1.0) or 1.0),
        "no_repeat_ngram_size": int(settings.get("no_repeat_ngram_size", 0) or 0),
        "max_input_length": 0,  # never truncate: long inputs were split before
        "return_end_token": False,
    }
    suppressed = [[id_to_token(i) for i in seq] for seq in settings.get("bad_words_ids") or []]
    suppressed = [seq for seq in suppressed if all(t in vocabulary for t in seq)]
    if suppressed:
        options["suppress_sequences"] = suppressed
    eos = settings.get("eos_token_id")
    if isinstance(eos, int):
        options["end_token"] = id_to_token(eos)
    return options


def open_converted(
    kind: Literal["Translator", "Generator"],
    path: Path,
    model: ResolvedModel,
    device: str,
    compute_type: str,
    threads: int | None,
) -> Any:
    """``ctranslate2.<kind>`` of the conversion at ``path`` on ``device`` (``cpu``, ``cuda`` or ``cuda:N``).

    One batch at a time (``inter_threads=1``) on ``threads`` cores (0: CTranslate2's default). A
    device that does not exist here, or a compute type it lacks, is a ``ModelError``: every batch
    would fail alike.
    """
    import ctranslate2

    index = int(device.split(":")[1]) if ":" in device else 0
    try:
        return getattr(ctranslate2, kind)(
            str(path), device="cuda" if device.startswith("cuda") else "cpu", device_index=index,
            compute_type=compute_type, inter_threads=1, intra_threads=threads or 0,
        )  # fmt: skip
    except (RuntimeError, ValueError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelError(
            f"cannot run model {model.name} on device {device!r} ({compute_type}): {detail}",
            hint="choose another --device or --compute-type, e.g. --device cpu",
        ) from exc


def decoded_links(
    attention: Sequence[Sequence[float]],
    source_words: Sequence[int | None],
    target: str,
    tokens: Sequence[str],
    specials: Collection[str],
) -> Links:
    """Word links of a hypothesis from its own attention (``attention[i]``: token ``i``'s source weights).

    ``tokens``: the hypothesis as the decoder read it (a forced prefix included, the end token
    not), ``source_words``: :func:`token_words` of the source; no words on either side, no links.
    """
    if not target.split() or not any(w is not None for w in source_words):
        return ()
    return attention_links(attention[: len(tokens)], source_words, token_words(target, tokens, specials))


@dataclass
class CT2Engine:
    """A converted model on CTranslate2, with transformers-equivalent decoding settings."""

    model: ResolvedModel
    fingerprint: str
    compute_type: str = "int8"
    device: str = "cpu"
    threads: int | None = None
    # Batches of at most this many sentences (CTranslate2 sorts them by length): beam search
    # over a 67k vocabulary costs memory per sentence, and 16 keeps the seed under 400 MB at
    # the speed of larger batches (bench/README.md).
    batch_size: int = 16
    # When set, batches are bounded by this many source tokens instead (``batch_type="tokens"``):
    # short sentences then share larger batches; CTranslate2 sorts by length either way.
    max_batch_tokens: int = 0
    _translator: Any = field(default=None, init=False, repr=False)
    _path: Path | None = field(default=None, init=False, repr=False)
    _tokenizer: Any = field(default=None, init=False, repr=False)
    _options: dict[str, dict[str, Any]] = field(default_factory=dict, init=False, repr=False)
    _max_input_tokens: int | None = field(default=None, init=False, repr=False)
    _memo: TokenMemo | None = field(default=None, init=False, repr=False)

    @property
    def backend(self) -> str:
        return "ctranslate2"

    @property
    def memo(self) -> TokenMemo:
        if self._memo is None:
            self._memo = TokenMemo(self.tokenizer.encode)
        return self._memo

    def signature(self) -> EngineSection:
        # the device kind changes the kernels, so the tokens; which card of a kind does not
        return EngineSection("ctranslate2", self.device.split(":")[0], self.compute_type)

    @property
    def tokenizer(self) -> MarianSentencePiece | FastTokenizer:
        if self._tokenizer is None:
            if not own_tokenizer(self.model):
                self.load()  # the conversion saves the tokenizer.json the checkpoint lacks
            self._tokenizer = load_tokenizer(self.model, self._path)
        return self._tokenizer

    def load(self) -> Any:
        if self._translator is None:
            path = self._path = convert_model(self.model, self.fingerprint, self.compute_type)
            self._translator = open_converted(
                "Translator", path, self.model, self.device, self.compute_type, self.threads
            )
        return self._translator

    @property
    def max_input_tokens(self) -> int:
        if self._max_input_tokens is None:
            self._max_input_tokens = self._context_limit()
        return self._max_input_tokens

    def _context_limit(self) -> int:
        config = self.model.config()
        limit = int(config.get("max_position_embeddings") or 1024)
        tokenizer_config = self.model.path / "tokenizer_config.json"
        if tokenizer_config.is_file():
            declared = json.loads(tokenizer_config.read_text(encoding="utf-8")).get("model_max_length")
            if isinstance(declared, int) and 0 < declared < limit:
                limit = declared
        return limit

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.memo.count(texts)

    def options(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        """``translate_batch`` options for ``settings``, worked out once per settings."""
        key = json.dumps(settings, sort_keys=True, default=str)
        if key not in self._options:
            # only bad_words_ids needs the target vocabulary, and it is not kept
            vocabulary = self.target_vocabulary() if settings.get("bad_words_ids") else set()
            self._options[key] = ct2_options(settings, self.tokenizer.id_to_token, vocabulary)
        return dict(self._options[key])

    def target_vocabulary(self) -> set[str]:
        """The converted model's target tokens (read from disk each time: about 15 MB once loaded)."""
        path = self._path or convert_model(self.model, self.fingerprint, self.compute_type)
        vocab_file = next(path.glob("*target_vocabulary.json"), None) or path / "shared_vocabulary.json"
        return set(json.loads(vocab_file.read_text(encoding="utf-8")))

    def generate(self, texts: Sequence[str], settings: Mapping[str, Any]) -> list[tuple[str, int]]:
        if not texts:
            return []
        translator = self.load()
        options = self.options(settings)
        prefix: list[str] = []
        forced_bos = settings.get("forced_bos_token_id")
        if isinstance(forced_bos, int):
            prefix = [self.tokenizer.id_to_token(forced_bos)]
        results = translator.translate_batch(
            self.memo.take(texts),
            target_prefix=[prefix] * len(texts) if prefix else None,
            max_batch_size=self.max_batch_tokens or self.batch_size,
            batch_type="tokens" if self.max_batch_tokens else "examples",
            **options,
        )
        outputs = []
        for result in results:
            tokens = list(result.hypotheses[0])[len(prefix) :]
            # as transformers counts: tokens that decoding does not drop (NLLB may generate language codes)
            counted = sum(1 for t in tokens if t not in self.tokenizer.specials)
            outputs.append((self.tokenizer.decode(tokens), counted))
        return outputs

    # --- scored hypotheses for the retry ladder (``pipeline.engines.protocol.CandidateEngine``) -------------

    def banned_sequences(self, phrases: Sequence[str]) -> list[list[str]]:
        """Target tokens of each phrase, as it opens and as it continues a sentence (in-vocabulary only)."""
        sequences: dict[tuple[str, ...], None] = {}
        vocabulary = self.target_vocabulary() if phrases else set()
        for phrase in phrases:
            for text in (phrase, " " + phrase):
                tokens = tuple(self.tokenizer.encode_target(text))
                if tokens and all(t in vocabulary for t in tokens):
                    sequences[tokens] = None
        return [list(tokens) for tokens in sequences]

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        """For each source, its hypotheses best first, each scored by its mean token log-probability.

        CTranslate2's ``return_scores`` gives the summed log-probability of the generated
        tokens (the end token included when generated) divided by ``length ** length_penalty``
        (greedy search too); multiplying back and dividing by the length gives the mean. Scores
        are asked for only when ``request.scores``; otherwise every score is ``None``.

        Each hypothesis carries its word links (``Candidate.links``), read from the attention
        CTranslate2 returns with it (``return_attention``: the head :meth:`align` reads, one row
        per generated token), so a translation needs no second, forced pass to be aligned.
        """
        if not sources:
            return []
        translator = self.load()
        settings = request.settings
        options = self.options(settings)
        n = request.num_return_sequences
        options["beam_size"] = max(n, options["beam_size"])
        banned = self.banned_sequences(request.banned_phrases)
        if banned:
            options["suppress_sequences"] = [*options.get("suppress_sequences", []), *banned]
        options["return_end_token"] = True
        prefix: list[str] = []
        forced_bos = settings.get("forced_bos_token_id")
        if isinstance(forced_bos, int):
            prefix = [self.tokenizer.id_to_token(forced_bos)]
        source_tokens = [self.tokenizer.encode(t) for t in sources]
        results = translator.translate_batch(
            source_tokens,
            target_prefix=[prefix] * len(sources) if prefix else None,
            max_batch_size=max(1, int(self.batch_size * request.batch_share())),
            batch_type="examples",
            num_hypotheses=n,
            return_scores=request.scores,
            return_attention=True,
            **options,
        )
        end = options.get("end_token", "</s>")
        penalty = options["length_penalty"]
        specials = set(self.tokenizer.specials) - {"<unk>"}
        outputs = []
        for source, tokens_in, result in zip(sources, source_tokens, results, strict=True):
            candidates = []
            scores: list[float | None] = list(result.scores) if request.scores else [None] * len(result.hypotheses)
            source_words = token_words(source, tokens_in, specials) if source.split() else []
            for hypothesis, score, attention in zip(result.hypotheses, scores, result.attention, strict=True):
                tokens = list(hypothesis)
                length = max(1, len(tokens))
                mean = None if score is None else float(score) * length**penalty / length
                content = [t for t in tokens[len(prefix) :] if t != end]
                counted = sum(1 for t in content if t not in self.tokenizer.specials)
                target = self.tokenizer.decode(content)
                # the rows of the tokens the decoder read, as align() forces them: the prefix, less the end token
                read = tokens[:-1] if tokens and tokens[-1] == end else tokens
                links = decoded_links(attention, source_words, target, read, specials)
                candidates.append(Candidate(target, mean, counted, links))
            outputs.append(candidates)
        return outputs

    # --- word alignments for inline markup -----------------------------------------------------------------

    def target_tokens(self, text: str) -> list[str]:
        """``text`` as the decoder reads a target in training, less the end token: the forced prefix."""
        tokenizer = self.tokenizer
        if isinstance(tokenizer, MarianSentencePiece):
            return [p if p in tokenizer.vocab else "<unk>" for p in tokenizer.encode_target(text)]
        from pipeline.models.languages import language_codes

        codes = language_codes(self.model)
        if codes:  # NLLB: the target language opens every target
            return [codes[1], *tokenizer.encode_target(text)]
        tokens = tokenizer.encode(text)  # BART: <s> … </s>; PEGASUS: … </s>
        return tokens[:-1] if tokens and tokens[-1] == "</s>" else tokens

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Links | None]:
        """Word links of each (source, target) pair: the target forced as a prefix, its attention read back.

        ``translate_batch`` decodes the prefix and one token more (greedy); the first
        ``len(prefix)`` attention rows are the target's. A target without words has no links;
        a pair longer than the model's context gets ``None``.
        """
        translator = self.load()
        specials = set(self.tokenizer.specials) - {"<unk>"}
        source_tokens = [self.tokenizer.encode(s) for s in sources]
        prefixes = [self.target_tokens(t) for t in targets]
        outputs: list[Links | None] = [None] * len(sources)
        limit = self.max_input_tokens
        todo = []
        for i, (source, prefix) in enumerate(zip(source_tokens, prefixes, strict=True)):
            if not targets[i].split() or not sources[i].split():
                outputs[i] = ()
            elif len(source) <= limit and len(prefix) < limit:
                todo.append(i)
        lengths = [max(len(source_tokens[i]), len(prefixes[i]) + 1) for i in todo]
        # bounded by sentences and, as the transformers engine does, by padded tokens (6000 when unset)
        for batch in length_sorted_batches(lengths, self.batch_size, self.max_batch_tokens or 6000):
            rows = [todo[b] for b in batch]
            results = translator.translate_batch(
                [source_tokens[i] for i in rows],
                target_prefix=[prefixes[i] for i in rows],
                beam_size=1,
                max_decoding_length=max(len(prefixes[i]) for i in rows) + 1,
                max_input_length=0,
                return_attention=True,
            )
            for i, result in zip(rows, results, strict=True):
                source_words = token_words(sources[i], source_tokens[i], specials)
                outputs[i] = decoded_links(result.attention[0], source_words, targets[i], prefixes[i], specials)
        return outputs
