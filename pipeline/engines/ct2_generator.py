"""Causal instruct LLMs on CTranslate2's ``Generator``: conversion, static prompts, decoding.

The model is converted once, like the seq2seq models, by ``pipeline.engines.ct2.convert_model``
(CTranslate2's transformers converter, into the same ``models/ct2/<slug>-<quantization>/`` cache,
reused while the source fingerprint is unchanged; its Llama and Qwen2 loaders read transformers v5
configs as they are). Prompts are rendered and tokenised by the same
:class:`pipeline.engines.causal.ChatTokenizer` as the transformers engine, so both backends see the
same token ids; the converted vocabulary keeps the tokenizer's ids.

``generate_batch`` is called with ``include_prompt_in_result=False``: the prompt is forwarded
at once (the part all prompts of a batch share in length; the rest of a longer prompt is forced
token by token) and ``max_length``/``min_length`` count generated tokens only. Settings that look
back at earlier tokens (repetition penalty, n-gram blocking, banned sequences) would also see the
forced tail of a longer prompt, so with those set a batch holds prompts of one length only: then
they see the generated tokens alone, as on the transformers engine.

A ``static_prefix`` (a system prompt and instructions every prompt starts with) becomes
CTranslate2's ``static_prompt``: its tokens are forwarded once, the model state after them is
cached by the generator and copied into every batch, and each prompt passes only the tokens after
it. It is used only when every prompt's tokens start with the prefix's own tokens (tokenising the
prefix alone gives the same ids as inside the prompt), so outputs never change with it.

Memory: the int8 weights are one block the size of ``model.bin``; each batch's prompt pass then
needs about half a MiB per padded prompt token (key/value cache and the activations of a layer).
glibc keeps some of those buffers after a call (up to ~700 MiB on the EuroLLM-1.7B architecture);
pinning its mmap threshold returns them but made generation 2.7 times slower there (every buffer
mapped and faulted in again), so it is left alone (``bench/llm.py`` measures the peak).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline.engines.causal import CausalDecoding, ChatEngineBase, ChatTokenizer, prompt_batches
from pipeline.engines.ct2 import QUANTIZATIONS, convert_model, ct2_available, open_converted
from pipeline.engines.protocol import Candidate, DecodeRequest
from pipeline.engines.seq2seq import TokenMemo
from pipeline.errors import ModelError
from pipeline.models.registry import ResolvedModel
from pipeline.signature import EngineSection

# Decoder-only model types whose CTranslate2 conversion is tested here (EuroLLM and Tower are Llama).
SUPPORTED_MODEL_TYPES = frozenset({"llama", "qwen2"})


def supports(model: ResolvedModel) -> bool:
    """Whether this causal LM can run on CTranslate2 here (installed, and a known architecture)."""
    return ct2_available() and model.config().get("model_type") in SUPPORTED_MODEL_TYPES


def generation_options(decoding: CausalDecoding, chat: ChatTokenizer) -> dict[str, Any]:
    """``generate_batch`` options for ``decoding``: greedy unless beams are asked for, never sampling."""
    options: dict[str, Any] = {
        "beam_size": decoding.beams,
        "max_length": decoding.max_new_tokens,
        "min_length": decoding.min_new_tokens,
        "length_penalty": decoding.length_penalty,
        "repetition_penalty": decoding.repetition_penalty,
        "no_repeat_ngram_size": decoding.no_repeat_ngram_size,
        "end_token": list(decoding.end_ids),
        "return_end_token": True,  # cut here at the first end token, as on transformers
        "include_prompt_in_result": False,
        "sampling_topk": 1,
    }
    if decoding.banned:
        options["suppress_sequences"] = [chat.tokens(seq) for seq in decoding.banned]
    return options


@dataclass
class CT2GeneratorEngine(ChatEngineBase):
    """A causal LM converted for CTranslate2, decoding as ``TransformersCausalEngine`` does."""

    model: ResolvedModel
    fingerprint: str
    compute_type: str = "int8"
    device: str = "cpu"
    threads: int | None = None
    batch_size: int = 8
    max_batch_tokens: int = 8192  # padded prompt tokens per batch
    _generator: Any = field(default=None, init=False, repr=False)
    _chat: ChatTokenizer | None = field(default=None, init=False, repr=False)
    _memo: TokenMemo | None = field(default=None, init=False, repr=False)
    _prefixes: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False)

    @property
    def backend(self) -> str:
        return "ctranslate2"

    def signature(self) -> EngineSection:
        # the device kind changes the kernels, so the tokens; which card of a kind does not
        return EngineSection("ctranslate2", self.device.split(":")[0], self.compute_type)

    @property
    def chat(self) -> ChatTokenizer:
        if self._chat is None:
            self._chat = ChatTokenizer(self.model)
        return self._chat

    def load(self) -> Any:
        """The ``ctranslate2.Generator``, converting the model first when no conversion is cached."""
        if self._generator is None:
            if self.compute_type not in QUANTIZATIONS:
                raise ModelError(
                    f"unknown compute type {self.compute_type!r}; choose one of {', '.join(QUANTIZATIONS)}"
                )
            path = convert_model(self.model, self.fingerprint, self.compute_type)
            self._generator = open_converted(
                "Generator", path, self.model, self.device, self.compute_type, self.threads
            )
        return self._generator

    def static_split(self, prompts: Sequence[str], ids: Sequence[list[int]], static_prefix: str | None) -> int:
        """How many leading tokens every prompt shares as the static prompt (0: none is used)."""
        if not static_prefix or not all(p.startswith(static_prefix) for p in prompts):
            return 0
        prefix = self._prefixes.get(static_prefix)
        if prefix is None:
            prefix = self._prefixes[static_prefix] = self.chat.encode(static_prefix)
        n = len(prefix)
        # each prompt keeps at least one token of its own: generation starts from a prompt's last token
        usable = n > 0 and all(len(x) > n and x[:n] == prefix for x in ids)
        return n if usable else 0

    def _run(
        self, ids: Sequence[list[int]], decoding: CausalDecoding, items: int, tokens: int, static: int, **extra: Any
    ) -> list[tuple[int, Any]]:
        """(input index, ``GenerationResult``) for each prompt, batched by count and padded tokens."""
        generator = self.load()
        chat = self.chat
        options = {**generation_options(decoding, chat), **extra}
        static_prompt = chat.tokens(ids[0][:static]) if static else None
        rest = [x[static:] for x in ids]
        results: list[tuple[int, Any]] = []
        for batch in prompt_batches([len(x) for x in rest], items, tokens, equal_lengths=decoding.looks_back):
            done = generator.generate_batch(
                [chat.tokens(rest[i]) for i in batch], static_prompt=static_prompt, **options
            )
            results.extend(zip(batch, done, strict=True))
        return results

    def generate(
        self, prompts: Sequence[str], settings: Mapping[str, Any], static_prefix: str | None = None
    ) -> list[tuple[str, int]]:
        if not prompts:
            return []
        chat = self.chat
        decoding = CausalDecoding.from_settings(settings, chat.end_ids)
        ids = self.memo.take(prompts)
        static = self.static_split(prompts, ids, static_prefix)
        outputs: list[tuple[str, int]] = [("", 0)] * len(prompts)
        for i, result in self._run(ids, decoding, self.batch_size, self.max_batch_tokens, static):
            outputs[i] = chat.text(chat.finish(list(result.sequences_ids[0]), decoding.end_ids)[0])
        return outputs

    # --- scored hypotheses for the retry ladder (``pipeline.engines.protocol.CandidateEngine``) -------------

    def decode(
        self, prompts: Sequence[str], request: DecodeRequest, static_prefix: str | None = None
    ) -> list[list[Candidate]]:
        """For each prompt, its hypotheses best first, each scored by its mean token log-probability.

        CTranslate2's ``return_scores`` gives the summed log-probability of the generated tokens
        (the end token included when generated; never the prompt's) divided by
        ``length ** length_penalty``; multiplying back and dividing by the length gives the mean.
        """
        if not prompts:
            return []
        chat = self.chat
        decoding, items, tokens = self.request_decoding(request)
        n = request.num_return_sequences
        ids = [chat.encode(p) for p in prompts]
        outputs: list[list[Candidate]] = [[] for _ in prompts]
        static = self.static_split(prompts, ids, static_prefix)
        runs = self._run(ids, decoding, items, tokens, static, num_hypotheses=n, return_scores=request.scores)
        for i, result in runs:
            scores: list[float | None] = list(result.scores) if request.scores else [None] * len(result.sequences_ids)
            for sequence, score in zip(result.sequences_ids, scores, strict=True):
                content, ended = chat.finish(list(sequence), decoding.end_ids)
                length = max(1, len(content) + int(ended))
                mean = None if score is None else float(score) * length**decoding.length_penalty / length
                text, counted = chat.text(content)
                outputs[i].append(Candidate(text, mean, counted))
        return outputs
