"""Seq2seq engines: the few primitives translation and summarisation need from a backend.

An engine tokenises (``count_tokens``), knows its context (``max_input_tokens``) and
generates for a list of texts with explicit decoding settings, batching as suits it.
``TransformersEngine`` calls the tokenizer and ``generate()`` (transformers v5 has no
``translation``/``summarization`` pipelines); ``pipeline.engines.ct2.CT2Engine`` runs the same
model converted for CTranslate2. Heavy imports happen on first use only.

Both engines also give **word alignments** (``align``) from the model's own cross-attention,
for placing a source's inline markup in its translation. OPUS-MT models were trained with
Marian's guided alignment, which supervises head 0 of the last decoder layer's
cross-attention; that head is what CTranslate2 returns (its converted models keep the default
``alignment_layer=-1``, ``alignment_heads=1``), and what the transformers engine reads for
Marian. A model trained without it (NLLB) has no such head: transformers averages the last
layer's heads, CTranslate2 can only give head 0. Tokens are grouped into words by their
pieces' word-start marks (Marian's tokenizer has no offsets), the same token strings in both
engines, so both group alike (:func:`token_words`).
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from pipeline.engines.protocol import Candidate, DecodeRequest, Links
from pipeline.errors import ModelError
from pipeline.models.decoding import DECODING_KEYS
from pipeline.models.languages import _tokenizer_config, language_codes
from pipeline.models.registry import ResolvedModel
from pipeline.signature import EngineSection

_WORD = re.compile(r"\S+")
_WORD_START = ("\u2581", "\u0120")  # sentencepiece's ▁ and byte-level BPE's Ġ open a word


class Seq2SeqEngine(Protocol):
    """What the translator and the summariser need from a backend."""

    @property
    def backend(self) -> str: ...

    def signature(self) -> EngineSection:
        """What, besides model and settings, makes this engine's outputs differ (backend, compute type, device)."""
        ...

    @property
    def max_input_tokens(self) -> int: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def generate(self, texts: Sequence[str], settings: Mapping[str, Any]) -> list[tuple[str, int]]:
        """(text, generated token count) per input, in input order."""
        ...


def moses_normalizer(model: ResolvedModel) -> Any:
    """Moses punctuation normalisation for Marian models, as opus-mt saw in training.

    MarianTokenizer offers it (with sacremoses) but does not apply it by itself.
    """
    if model.config().get("model_type") != "marian":
        return None
    lang = _tokenizer_config(model).get("source_lang") or "en"
    return _moses_punct_normalizer_class()(lang).normalize


def _moses_punct_normalizer_class() -> Any:
    """sacremoses' ``MosesPunctNormalizer``, without importing the whole package.

    ``import sacremoses`` also loads its tokenizer and joblib (about 1 s); the normaliser
    module needs only ``re`` and ``regex``, so it is loaded on its own. The code that runs
    is exactly the code MarianTokenizer uses.
    """
    import importlib.util
    import sys

    name = "pipeline._sacremoses_normalize"
    module = sys.modules.get(name)
    if module is None:
        package = importlib.util.find_spec("sacremoses")
        if package is None or not package.submodule_search_locations:
            raise ModelError("sacremoses is not installed", hint="pip install sacremoses")
        location = Path(next(iter(package.submodule_search_locations))) / "normalize.py"
        spec = importlib.util.spec_from_file_location(name, location)
        if spec is None or spec.loader is None:
            raise ModelError(f"cannot load {location}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return module.MosesPunctNormalizer


class TokenMemo:
    """Each text tokenised once: ``count`` keeps what it encoded, ``take`` hands it to generation.

    The translator measures every source (to split those longer than the model allows)
    before generating; without the memo the long ones would be tokenised twice. ``take``
    empties the memo; it keeps no text longer than ``longest`` tokens (never generated
    as it is) and at most ``budget`` tokens in all, so counting a long text costs no memory.
    """

    def __init__(self, encode: Callable[[str], Any], longest: int = 4096, budget: int = 200_000) -> None:
        self.encode = encode
        self.longest = longest
        self.budget = budget
        self.held = 0
        self.tokens: dict[str, Any] = {}

    def count(self, texts: Sequence[str]) -> list[int]:
        counts = []
        for text in texts:
            tokens = self.tokens.get(text)
            if tokens is None:
                tokens = self.encode(text)
                if len(tokens) <= self.longest:
                    if self.held + len(tokens) > self.budget:
                        self.tokens.clear()
                        self.held = 0
                    self.tokens[text] = tokens
                    self.held += len(tokens)
            counts.append(len(tokens))
        return counts

    def take(self, texts: Sequence[str]) -> list[Any]:
        found = [self.tokens.get(text) for text in texts]
        self.tokens.clear()
        self.held = 0
        return [self.encode(text) if tokens is None else tokens for text, tokens in zip(texts, found, strict=True)]


def length_sorted_batches(lengths: Sequence[int], max_items: int, max_tokens: int) -> list[list[int]]:
    """Indices grouped into length-sorted batches bounded by count and padded tokens."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        if current and (len(current) >= max_items or (len(current) + 1) * lengths[i] > max_tokens):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def context_limit(tokenizer: Any, net: Any) -> int:
    """The longest input, in tokens, the model accepts."""
    limits = [getattr(net.config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    return min(int(x) for x in limits if isinstance(x, int) and 0 < x < 1_000_000)


def token_words(text: str, tokens: Sequence[str], specials: Collection[str]) -> list[int | None]:
    """The word of ``text`` (its ``\\S+`` runs, in order) each token belongs to; ``None`` for a special token.

    Tokens are grouped by their word-start marks (``▁``, ``Ġ``). When the groups are as many as
    the words (the usual case) they are the words in order; when normalisation changed the
    spacing (Moses puts a space before ``(``), each group goes to the word its first character
    matches in a character alignment of the two, or else to the word before it.
    """
    groups: list[str] = []
    owners: list[int | None] = []
    for token in tokens:
        if token in specials:
            owners.append(None)
            continue
        if token.startswith(_WORD_START) or not groups:
            groups.append("")
        groups[-1] += "" if token == "<unk>" else token.lstrip("".join(_WORD_START))
        owners.append(len(groups) - 1)
    words = _WORD.findall(text)
    if len(groups) == len(words) or not groups:
        return [None if o is None or o >= len(words) else o for o in owners]
    mapping = _group_words(groups, words)
    return [None if o is None else mapping[o] for o in owners]


def _group_words(groups: Sequence[str], words: Sequence[str]) -> list[int | None]:
    """Each token group's word, by a character alignment of the groups' text and the words' text."""
    left = [(c, g) for g, group in enumerate(groups) for c in group]
    right = [(c, w) for w, word in enumerate(words) for c in word]
    matcher = difflib.SequenceMatcher(None, [c for c, _ in left], [c for c, _ in right], autojunk=False)
    found: dict[int, int] = {}
    for a, b, size in matcher.get_matching_blocks():
        for k in range(size):
            found.setdefault(left[a + k][1], right[b + k][1])
    mapping: list[int | None] = []
    for g in range(len(groups)):
        previous = next((m for m in reversed(mapping) if m is not None), None)
        mapping.append(found.get(g, previous if previous is not None else (0 if words else None)))
    return mapping


def attention_links(
    attention: Sequence[Sequence[float]], source_words: Sequence[int | None], target_words: Sequence[int | None]
) -> Links:
    """Each target word linked to the source word it attends to most.

    ``attention[i][j]``: how much target token ``i`` attends to source token ``j``. A word's
    weight is the sum over its tokens (a target word's rows are added up too); special
    tokens on either side are left out; ties go to the earlier source word.
    """
    count = max((w for w in source_words if w is not None), default=-1) + 1
    totals: dict[int, list[float]] = {}
    for row, target in zip(attention, target_words, strict=False):
        if target is None or not count:
            continue
        weights = totals.setdefault(target, [0.0] * count)
        for weight, source in zip(row, source_words, strict=False):
            if source is not None:
                weights[source] += float(weight)
    return tuple((max(range(count), key=weights.__getitem__), target) for target, weights in sorted(totals.items()))


@contextlib.contextmanager
def eager_attention(net: Any) -> Iterator[None]:
    """The model on transformers' eager attention for the block: sdpa and flash attention return no weights."""
    current = net.config._attn_implementation
    if current == "eager":
        yield
        return
    net.set_attn_implementation("eager")
    try:
        yield
    finally:
        net.set_attn_implementation(current)


def load_on_device(auto_class: Any, model: ResolvedModel, device: str, **options: Any) -> Any:
    """``auto_class.from_pretrained`` of ``model`` in eval mode on ``device``; never runs remote code.

    Safetensors whenever present (pickle weights can run code when loaded). A model that cannot be
    loaded, or cannot move to ``device`` (no such device here, a CPU-only torch), is a ``ModelError``:
    every batch would fail alike.
    """
    safe = any(model.path.glob("*.safetensors"))
    try:
        net = auto_class.from_pretrained(
            str(model.path), trust_remote_code=False, use_safetensors=safe or None, **options
        )
    except Exception as exc:  # corrupt or incomplete model files
        raise ModelError(f"cannot load model {model.name} from {model.path}: {exc}") from exc
    net.eval()
    try:
        net.to(device)
    except Exception as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ModelError(
            f"cannot run model {model.name} on device {device!r}: {detail}",
            hint="choose another --device, e.g. --device cpu",
        ) from exc
    return net


@dataclass
class TransformersEngine:
    """A seq2seq model through transformers: tokenizer + ``generate()`` in ``inference_mode``."""

    model: ResolvedModel
    device: str = "cpu"
    threads: int | None = None
    batch_size: int = 16
    max_batch_tokens: int = 6000
    _loaded: tuple[Any, Any] | None = field(default=None, init=False, repr=False)
    _normalize: Any = field(default=None, init=False, repr=False)
    _memo: TokenMemo | None = field(default=None, init=False, repr=False)

    @property
    def backend(self) -> str:
        return "transformers"

    def signature(self) -> EngineSection:
        # the device kind changes the arithmetic, so the tokens; which card of a kind does not
        return EngineSection("transformers", self.device.split(":")[0])

    def load(self) -> tuple[Any, Any]:
        """(tokenizer, model) in eval mode on the device; never runs remote code."""
        if self._loaded is None:
            import torch
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()
            hf_logging.set_verbosity_error()
            if self.threads:
                torch.set_num_threads(self.threads)
            path = str(self.model.path)
            codes = language_codes(self.model)
            languages = {"src_lang": codes[0], "tgt_lang": codes[1]} if codes else {}
            try:
                tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=False, **languages)
            except Exception as exc:  # corrupt or incomplete tokenizer files
                raise ModelError(f"cannot load model {self.model.name} from {path}: {exc}") from exc
            net = load_on_device(AutoModelForSeq2SeqLM, self.model, self.device)
            self._normalize = moses_normalizer(self.model)
            self._loaded = (tokenizer, net)
        return self._loaded

    def prepare(self, text: str) -> str:
        self.load()
        return self._normalize(text) if self._normalize else text

    @property
    def max_input_tokens(self) -> int:
        return context_limit(*self.load())

    @property
    def memo(self) -> TokenMemo:
        if self._memo is None:
            tokenizer, _ = self.load()
            self._memo = TokenMemo(lambda text: tokenizer(self.prepare(text))["input_ids"])
        return self._memo

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.memo.count(texts)

    def generate_kwargs(self, settings: Mapping[str, Any]) -> dict[str, Any]:
        kwargs = {k: v for k, v in settings.items() if k in DECODING_KEYS}
        kwargs["do_sample"] = False
        return kwargs

    def generate_batch(
        self, texts: Sequence[str], settings: Mapping[str, Any], ids: Sequence[list[int]] | None = None
    ) -> list[tuple[str, int]]:
        """One padded batch through ``generate()``; ``ids`` are the texts' token ids when already known."""
        import torch

        tokenizer, net = self.load()
        ids = ids if ids is not None else [tokenizer(self.prepare(t))["input_ids"] for t in texts]
        with torch.inference_mode():
            batch = tokenizer.pad({"input_ids": list(ids)}, return_tensors="pt", padding=True).to(self.device)
            out = net.generate(**batch, **self.generate_kwargs(settings))
        special = set(tokenizer.all_special_ids)
        decoded = tokenizer.batch_decode(out, skip_special_tokens=True)
        counts = [sum(1 for t in row.tolist() if t not in special) for row in out]
        return [(" ".join(text.split()), n) for text, n in zip(decoded, counts, strict=True)]

    def generate(self, texts: Sequence[str], settings: Mapping[str, Any]) -> list[tuple[str, int]]:
        outputs: list[tuple[str, int]] = [("", 0)] * len(texts)
        ids = self.memo.take(texts)
        for batch in length_sorted_batches([len(x) for x in ids], self.batch_size, self.max_batch_tokens):
            done = self.generate_batch([texts[i] for i in batch], settings, [ids[i] for i in batch])
            for i, result in zip(batch, done, strict=True):
                outputs[i] = result
        return outputs

    # --- scored hypotheses for the retry ladder (``pipeline.engines.protocol.CandidateEngine``) -------------

    def banned_ids(self, phrases: Sequence[str]) -> list[list[int]]:
        """Target-vocabulary token ids of each phrase, as it opens and as it continues a sentence."""
        tokenizer, _ = self.load()
        sequences: dict[tuple[int, ...], None] = {}
        for phrase in phrases:
            for text in (phrase, " " + phrase):
                ids = tokenizer(text_target=text, add_special_tokens=False)["input_ids"]
                if ids:
                    sequences[tuple(int(i) for i in ids)] = None
        return [list(ids) for ids in sequences]

    def candidate_kwargs(self, request: DecodeRequest) -> dict[str, Any]:
        """``generate()`` arguments for the request: its settings, n-best hypotheses and banned phrases."""
        kwargs = self.generate_kwargs(request.settings)
        if request.num_return_sequences > 1:
            kwargs["num_return_sequences"] = request.num_return_sequences
            kwargs["num_beams"] = request.beams
        banned = self.banned_ids(request.banned_phrases)
        if banned:
            kwargs["bad_words_ids"] = [*(kwargs.get("bad_words_ids") or []), *banned]
        return kwargs

    def token_log_probs(self, batch: Any, sequences: Any, copies: int, rows_per_pass: int = 4) -> Any:
        """Each generated token's log-probability under the model, by one teacher-forced pass.

        ``output_scores`` would keep a vocabulary-sized tensor per step and hypothesis (gigabytes
        for long beams); this keeps only a few rows' logits at a time.
        """
        import torch

        _, net = self.load()
        inputs = {k: v.repeat_interleave(copies, dim=0) for k, v in batch.items()}
        out = []
        for start in range(0, sequences.shape[0], rows_per_pass):
            rows = slice(start, start + rows_per_pass)
            logits = net(**{k: v[rows] for k, v in inputs.items()}, decoder_input_ids=sequences[rows, :-1]).logits
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            out.append(log_probs.gather(-1, sequences[rows, 1:].unsqueeze(-1)).squeeze(-1))
        return torch.cat(out) if out else sequences[:, 1:].float()

    def decode_batch(self, texts: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        """One padded batch: hypotheses best first, each scored by its mean token log-probability.

        The mean runs over the generated tokens up to and including the end token (a forced
        target-language token is left out: the model did not choose it). Without
        ``request.scores`` the teacher-forced pass is skipped and every score is ``None``.
        """
        import torch

        tokenizer, net = self.load()
        kwargs = self.candidate_kwargs(request)
        n = request.num_return_sequences
        with torch.inference_mode():
            batch = tokenizer([self.prepare(t) for t in texts], return_tensors="pt", padding=True).to(self.device)
            sequences = net.generate(**batch, **kwargs)
            log_probs = self.token_log_probs(batch, sequences, n).tolist() if request.scores else None
        eos = net.generation_config.eos_token_id
        ends = set(eos if isinstance(eos, list) else [eos])
        skip = 1 if request.settings.get("forced_bos_token_id") is not None else 0
        special = set(tokenizer.all_special_ids)
        decoded = tokenizer.batch_decode(sequences, skip_special_tokens=True)
        candidates: list[list[Candidate]] = [[] for _ in texts]
        for row, text in enumerate(decoded):
            score = None
            if log_probs is not None:
                tokens = sequences[row, 1:].tolist()
                length = next((i + 1 for i, t in enumerate(tokens) if t in ends), len(tokens))
                values = log_probs[row][skip:length]
                score = sum(values) / len(values) if values else None
            counted = sum(1 for t in sequences[row].tolist() if t not in special)
            candidates[row // n].append(Candidate(" ".join(text.split()), score, counted))
        return candidates

    def decode(self, sources: Sequence[str], request: DecodeRequest) -> list[list[Candidate]]:
        """For each source, its hypotheses best first (``pipeline.engines.protocol.CandidateEngine``)."""
        outputs: list[list[Candidate]] = [[] for _ in sources]
        share = request.batch_share()
        items, tokens = max(1, int(self.batch_size * share)), max(1, int(self.max_batch_tokens * share))
        for batch in length_sorted_batches(self.count_tokens(sources), items, tokens):
            for i, result in zip(batch, self.decode_batch([sources[i] for i in batch], request), strict=True):
                outputs[i] = result
        return outputs

    # --- word alignments for inline markup -----------------------------------------------------------------

    def align(self, sources: Sequence[str], targets: Sequence[str]) -> list[Links | None]:
        """Word links of each (source, target) pair from the model's cross-attention, by forced decoding.

        The target is fed to the decoder as in training (teacher forcing); the last decoder
        layer's cross-attention gives each target token's source distribution: head 0 for
        Marian (trained with guided alignment), the mean of the heads otherwise. A target
        without words has no links; a pair longer than the model's context gets ``None``.
        """
        import torch

        tokenizer, net = self.load()
        specials = set(tokenizer.all_special_tokens) - {tokenizer.unk_token}
        source_ids = [tokenizer(self.prepare(s))["input_ids"] for s in sources]
        target_ids = [tokenizer(text_target=t)["input_ids"] for t in targets]
        outputs: list[Links | None] = [None] * len(sources)
        limit = self.max_input_tokens
        todo = []
        for i, (source, target) in enumerate(zip(source_ids, target_ids, strict=True)):
            if not _WORD.search(targets[i]) or not _WORD.search(sources[i]):
                outputs[i] = ()
            elif len(source) <= limit and len(target) <= limit:
                todo.append(i)
        lengths = [max(len(source_ids[i]), len(target_ids[i])) for i in todo]
        head = 0 if net.config.model_type == "marian" else None
        pad, start = tokenizer.pad_token_id, net.config.decoder_start_token_id
        with eager_attention(net), torch.inference_mode():
            for batch in length_sorted_batches(lengths, self.batch_size, self.max_batch_tokens):
                rows = [todo[b] for b in batch]
                width, depth = max(len(source_ids[i]) for i in rows), max(len(target_ids[i]) for i in rows)
                ids = [source_ids[i] + [pad] * (width - len(source_ids[i])) for i in rows]
                mask = [[1] * len(source_ids[i]) + [0] * (width - len(source_ids[i])) for i in rows]
                decoder = [[start, *target_ids[i][:-1]] + [pad] * (depth - len(target_ids[i])) for i in rows]
                out = net(
                    input_ids=torch.tensor(ids, device=self.device),
                    attention_mask=torch.tensor(mask, device=self.device),
                    decoder_input_ids=torch.tensor(decoder, device=self.device),
                    output_attentions=True,
                )
                last = out.cross_attentions[-1].float()  # batch, heads, target, source
                weights = (last[:, head] if head is not None else last.mean(dim=1)).cpu().tolist()
                for i, matrix in zip(rows, weights, strict=True):
                    source_words = token_words(sources[i], tokenizer.convert_ids_to_tokens(source_ids[i]), specials)
                    target_words = token_words(targets[i], tokenizer.convert_ids_to_tokens(target_ids[i]), specials)
                    outputs[i] = attention_links(matrix[: len(target_words)], source_words, target_words)
        return outputs
