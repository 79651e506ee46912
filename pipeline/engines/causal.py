"""Causal (decoder-only) instruct LLMs: the engine interface, the chat tokenizer both backends share, transformers.

An instruct model translates or summarises from a prompt: a conversation rendered through the
model's own chat template, then continued by generation. ``CausalEngine`` is what the layers
above need from a backend; ``TransformersCausalEngine`` runs the model with transformers'
``AutoModelForCausalLM`` (left padding, float32, ``inference_mode``) and
``pipeline.engines.ct2_generator.CT2GeneratorEngine`` runs the same model converted for
CTranslate2. Both give the same tokens for the same prompts and settings (float32, greedy).

Both backends share :class:`ChatTokenizer`, transformers' tokenizer of the checkpoint (its
files only, no weights): it renders prompts with ``apply_chat_template``, which reads the template
from ``chat_template.jinja`` or from ``tokenizer_config.json`` as the checkpoint has it, so a
prompt is made in one place and by the code the model's authors wrote the template for. It is
also the one tokenizer, so the two backends never tokenise differently.

Decoding settings are mapped explicitly (:class:`CausalDecoding`): nothing of the checkpoint's
``generation_config.json`` acts unless the caller's settings carry it (``pipeline.models.decoding``
decides those), except its end tokens, which end every generation. Repetition penalty, n-gram
blocking and banned phrases look at the generated tokens only, never at the prompt, on both
backends: a prompt holds the source text, and a translation must be free to repeat its names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pipeline.engines.protocol import Candidate, DecodeRequest
from pipeline.engines.seq2seq import TokenMemo, length_sorted_batches, load_on_device
from pipeline.errors import ChatTemplateError, ModelError
from pipeline.models.registry import ResolvedModel
from pipeline.signature import EngineSection

# The longest prompt an engine offers, whatever the model's context: a 32k-token prompt would need
# a key/value cache of gigabytes per sequence, and news segments and documents are split long before.
CONTEXT_CAP = 8192
DEFAULT_MAX_NEW_TOKENS = 256
# Turn ends of the common chat templates (ChatML, Llama 3, Gemma): a generation stops at the one
# its tokenizer has, as the model's authors' own inference code does, even when
# ``generation_config.json`` names only the end-of-text token.
TURN_ENDS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>")


class CausalEngine(Protocol):
    """What the instruct-model translator and summariser need from a backend."""

    @property
    def backend(self) -> str: ...

    def signature(self) -> EngineSection:
        """What, besides model and settings, makes this engine's outputs differ (backend, device kind, compute type)."""
        ...

    def max_input_tokens(self) -> int:
        """The model's context in tokens (prompt and generated tokens together), at most ``CONTEXT_CAP``."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as it would appear inside a prompt (no special tokens added)."""
        ...

    def render(self, conversations: Sequence[list[dict[str, str]]]) -> list[str]:
        """Each conversation (``[{"role": ..., "content": ...}, ...]``) as a prompt, ready for the assistant's turn."""
        ...

    def generate(
        self, prompts: Sequence[str], settings: Mapping[str, Any], static_prefix: str | None = None
    ) -> list[tuple[str, int]]:
        """(generated text, generated token count) per prompt, in input order; the prompt is not included.

        ``static_prefix``: text every prompt starts with (a system prompt and instructions), which a
        backend may process once for all prompts; outputs are the same with or without it.
        """
        ...

    def decode(
        self, prompts: Sequence[str], request: DecodeRequest, static_prefix: str | None = None
    ) -> list[list[Candidate]]:
        """For each prompt, its hypotheses best first, scored by mean token log-probability (``CandidateEngine``).

        ``static_prefix`` as for :meth:`generate`: the same hypotheses with or without it.
        """
        ...


def context_length(model: ResolvedModel) -> int:
    """``max_position_embeddings`` of the config, lowered by a sane ``model_max_length``, at most ``CONTEXT_CAP``."""
    config = model.config()
    nested = config.get("text_config")
    text: dict[str, Any] = nested if isinstance(nested, dict) else config
    limit = int(text.get("max_position_embeddings") or 2048)
    tokenizer_config = model.path / "tokenizer_config.json"
    if tokenizer_config.is_file():
        import json

        declared = json.loads(tokenizer_config.read_text(encoding="utf-8")).get("model_max_length")
        if isinstance(declared, int) and 0 < declared < limit:
            limit = declared
    return min(limit, CONTEXT_CAP)


def _ids(value: Any) -> list[int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list | tuple):
        return [int(v) for v in value if isinstance(v, int) and not isinstance(v, bool)]
    return []


@dataclass(frozen=True)
class CausalDecoding:
    """The decoding settings both backends honour, read once from a settings mapping.

    Lengths count generated tokens only (``max_new_tokens``, ``min_new_tokens``; a ``max_length``
    would count the prompt, so it is not read). ``end_ids`` are the settings' ``eos_token_id``
    (one id or a list) added to the model's own end tokens.
    """

    beams: int = 1
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    min_new_tokens: int = 0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    length_penalty: float = 1.0
    banned: tuple[tuple[int, ...], ...] = ()
    end_ids: tuple[int, ...] = ()

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any], end_ids: Sequence[int]) -> CausalDecoding:
        ends = dict.fromkeys([*_ids(settings.get("eos_token_id")), *end_ids])
        banned = tuple(tuple(int(i) for i in seq) for seq in settings.get("bad_words_ids") or [] if seq)
        max_new = settings.get("max_new_tokens")
        return cls(
            beams=int(settings.get("num_beams", 1) or 1),
            max_new_tokens=max(1, int(DEFAULT_MAX_NEW_TOKENS if max_new is None else max_new)),
            min_new_tokens=int(settings.get("min_new_tokens", 0) or 0),
            repetition_penalty=float(settings.get("repetition_penalty", 1.0) or 1.0),
            no_repeat_ngram_size=int(settings.get("no_repeat_ngram_size", 0) or 0),
            length_penalty=float(settings.get("length_penalty", 1.0) or 1.0),
            banned=banned,
            end_ids=tuple(ends),
        )

    @property
    def looks_back(self) -> bool:
        """Whether a step depends on the tokens before it (penalties, n-grams, banned sequences)."""
        return self.repetition_penalty != 1.0 or self.no_repeat_ngram_size > 0 or bool(self.banned)


def prompt_batches(
    lengths: Sequence[int], max_items: int, max_tokens: int, equal_lengths: bool = False
) -> list[list[int]]:
    """Indices in length-sorted batches bounded by count and padded tokens; ``equal_lengths`` splits
    each batch further into prompts of one length (what CTranslate2 needs for settings that look back)."""
    batches = length_sorted_batches(lengths, max_items, max_tokens)
    if not equal_lengths:
        return batches
    split: list[list[int]] = []
    for batch in batches:
        current: list[int] = []
        for i in batch:
            if current and lengths[current[0]] != lengths[i]:
                split.append(current)
                current = []
            current.append(i)
        split.append(current)
    return split


class ChatTokenizer:
    """The checkpoint's transformers tokenizer: chat template, token ids, end tokens, text of generated ids."""

    def __init__(self, model: ResolvedModel) -> None:
        from transformers import AutoTokenizer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(str(model.path), trust_remote_code=False)
        except Exception as exc:  # corrupt or incomplete tokenizer files
            raise ModelError(f"cannot load the tokenizer of {model.name} from {model.path}: {exc}") from exc
        if not getattr(self.tokenizer, "chat_template", None):
            raise ChatTemplateError(
                f"{model.name} has no chat template (neither chat_template.jinja nor tokenizer_config.json holds one)",
                hint="use an instruct model, or a seq2seq translation model",
            )
        self.name = model.name
        self.special_ids = {int(i) for i in self.tokenizer.all_special_ids}
        turn_ends = [self.tokenizer.convert_tokens_to_ids(t) for t in TURN_ENDS if t in self.tokenizer.get_vocab()]
        own = [
            *_ids(model.generation_config().get("eos_token_id")),
            *_ids(self.tokenizer.eos_token_id),
            *_ids(turn_ends),
        ]
        self.end_ids: tuple[int, ...] = tuple(dict.fromkeys(own))
        if not self.end_ids:
            raise ModelError(f"{model.name}: no end token in generation_config.json or the tokenizer")
        pad = self.tokenizer.pad_token_id
        pad = pad if isinstance(pad, int) else _ids(model.generation_config().get("pad_token_id"))
        self.pad_id: int = pad if isinstance(pad, int) else (pad[0] if pad else self.end_ids[0])

    def render(self, conversations: Sequence[list[dict[str, str]]]) -> list[str]:
        prompts = []
        for conversation in conversations:
            try:
                prompt = self.tokenizer.apply_chat_template(conversation, tokenize=False, add_generation_prompt=True)
            except Exception as exc:  # the template refuses the conversation (a role it does not know)
                detail = " ".join(str(exc).split()) or type(exc).__name__
                raise ChatTemplateError(f"{self.name}: the chat template cannot render the prompt: {detail}") from exc
            prompts.append(str(prompt))
        return prompts

    def encode(self, text: str) -> list[int]:
        # the template wrote every special token the prompt needs (a BOS too), as apply_chat_template does
        return [int(i) for i in self.tokenizer(text, add_special_tokens=False)["input_ids"]]

    def tokens(self, ids: Sequence[int]) -> list[str]:
        return [str(t) for t in self.tokenizer.convert_ids_to_tokens(list(ids))]

    def phrase_ids(self, phrases: Sequence[str]) -> list[tuple[int, ...]]:
        """Token ids of each phrase as it opens and as it continues a sentence: what banning it suppresses."""
        sequences: dict[tuple[int, ...], None] = {}
        for phrase in phrases:
            for text in (phrase, " " + phrase):
                ids = tuple(self.encode(text))
                if ids:
                    sequences[ids] = None
        return list(sequences)

    def finish(self, generated: Sequence[int], end_ids: Sequence[int]) -> tuple[list[int], bool]:
        """The generated ids before the first end token, and whether one was generated."""
        ends = set(end_ids)
        for i, token in enumerate(generated):
            if token in ends:
                return list(generated[:i]), True
        return list(generated), False

    def text(self, ids: Sequence[int]) -> tuple[str, int]:
        """The text of generated ids (special tokens dropped, no clean-up of spaces) and its token count."""
        text = self.tokenizer.decode(list(ids), skip_special_tokens=True, clean_up_tokenization_spaces=False)
        return str(text).strip(), sum(1 for t in ids if t not in self.special_ids)


def _generated_only_ngrams(size: int, prompt_width: int) -> Any:
    """transformers' n-gram blocking over the generated tokens only (the prompt is ``prompt_width`` wide)."""
    from transformers import LogitsProcessor, NoRepeatNGramLogitsProcessor

    class GeneratedNoRepeatNGram(LogitsProcessor):
        def __init__(self) -> None:
            self.inner = NoRepeatNGramLogitsProcessor(size)

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            return self.inner(input_ids[:, prompt_width:], scores)

    return GeneratedNoRepeatNGram()


def _generated_only_bans(banned: Sequence[Sequence[int]], prompt_width: int) -> Any:
    """Banned token sequences matched against the generated tokens only."""
    from transformers import LogitsProcessor

    class GeneratedBans(LogitsProcessor):
        def __call__(self, input_ids: Any, scores: Any) -> Any:
            generated = input_ids[:, prompt_width:].tolist()
            for row, tokens in enumerate(generated):
                for seq in banned:
                    head = list(seq[:-1])
                    if not head or tokens[len(tokens) - len(head) :] == head:
                        scores[row, seq[-1]] = -float("inf")
            return scores

    return GeneratedBans()


class ChatEngineBase:
    """What both backends do alike through their :class:`ChatTokenizer`: the context, token counts,
    prompts, and a ladder request's decoding settings and batch bounds.

    A backend (a dataclass) gives ``model``, ``batch_size``, ``max_batch_tokens``, a ``_memo``
    field (``None`` at first) and ``chat``.
    """

    model: ResolvedModel
    batch_size: int
    max_batch_tokens: int
    _memo: TokenMemo | None

    @property
    def chat(self) -> ChatTokenizer:
        raise NotImplementedError

    def max_input_tokens(self) -> int:
        return context_length(self.model)

    @property
    def memo(self) -> TokenMemo:
        if self._memo is None:
            self._memo = TokenMemo(self.chat.encode, longest=CONTEXT_CAP)
        return self._memo

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return self.memo.count(texts)

    def render(self, conversations: Sequence[list[dict[str, str]]]) -> list[str]:
        return self.chat.render(conversations)

    def request_decoding(self, request: DecodeRequest) -> tuple[CausalDecoding, int, int]:
        """``request``'s decoding (its banned phrases added, at least as many beams as hypotheses asked
        for) and the (prompts, padded tokens) a batch may hold, the request's share of the engine's."""
        chat = self.chat
        decoding = CausalDecoding.from_settings(request.settings, chat.end_ids)
        banned = chat.phrase_ids(request.banned_phrases)
        if banned:
            decoding = replace(decoding, banned=(*decoding.banned, *banned))
        decoding = replace(decoding, beams=max(request.num_return_sequences, decoding.beams))
        share = request.batch_share()
        return decoding, max(1, int(self.batch_size * share)), max(1, int(self.max_batch_tokens * share))


@dataclass
class TransformersCausalEngine(ChatEngineBase):
    """An instruct LLM through transformers: left-padded batches through ``generate()`` in float32."""

    model: ResolvedModel
    device: str = "cpu"
    threads: int | None = None
    batch_size: int = 8
    max_batch_tokens: int = 8192
    _loaded: tuple[ChatTokenizer, Any] | None = field(default=None, init=False, repr=False)
    _memo: TokenMemo | None = field(default=None, init=False, repr=False)

    @property
    def backend(self) -> str:
        return "transformers"

    def signature(self) -> EngineSection:
        # always float32; the device kind changes the arithmetic, so the tokens; which card of a kind does not
        return EngineSection("transformers", self.device.split(":")[0])

    @property
    def chat(self) -> ChatTokenizer:
        return self.load()[0]

    def load(self) -> tuple[ChatTokenizer, Any]:
        """(chat tokenizer, model) in eval mode on the device; never runs remote code."""
        if self._loaded is None:
            import torch
            from transformers import AutoModelForCausalLM, GenerationConfig

            if self.threads:
                torch.set_num_threads(self.threads)
            chat = ChatTokenizer(self.model)
            net = load_on_device(AutoModelForCausalLM, self.model, self.device, dtype=torch.float32)
            # only the settings each call passes decode: the checkpoint's sampling defaults never act
            net.generation_config = GenerationConfig()
            self._loaded = (chat, net)
        return self._loaded

    def _generate_batch(self, ids: Sequence[list[int]], decoding: CausalDecoding, n: int = 1) -> tuple[Any, Any, Any]:
        """(prompt ids, attention mask, generated ids): one left-padded batch, ``n`` hypotheses per prompt."""
        import torch

        chat, net = self.load()
        width = max(len(x) for x in ids)
        input_ids = torch.tensor([[chat.pad_id] * (width - len(x)) + list(x) for x in ids], device=self.device)
        mask = torch.tensor([[0] * (width - len(x)) + [1] * len(x) for x in ids], device=self.device)
        processors: list[Any] = []
        if decoding.repetition_penalty != 1.0:
            from transformers import RepetitionPenaltyLogitsProcessor

            processors.append(RepetitionPenaltyLogitsProcessor(decoding.repetition_penalty, prompt_ignore_length=width))
        if decoding.no_repeat_ngram_size > 0:
            processors.append(_generated_only_ngrams(decoding.no_repeat_ngram_size, width))
        if decoding.banned:
            processors.append(_generated_only_bans(decoding.banned, width))
        out = net.generate(
            input_ids=input_ids,
            attention_mask=mask,
            do_sample=False,
            num_beams=max(n, decoding.beams),
            num_return_sequences=n,
            max_new_tokens=decoding.max_new_tokens,
            min_new_tokens=decoding.min_new_tokens,
            length_penalty=decoding.length_penalty,
            eos_token_id=list(decoding.end_ids),
            pad_token_id=chat.pad_id,
            logits_processor=processors,
        )
        return input_ids, mask, out[:, width:]

    def generate(
        self, prompts: Sequence[str], settings: Mapping[str, Any], static_prefix: str | None = None
    ) -> list[tuple[str, int]]:
        """``static_prefix`` is accepted for the interface; transformers processes each prompt whole."""
        import torch

        chat = self.chat
        decoding = CausalDecoding.from_settings(settings, chat.end_ids)
        ids = self.memo.take(prompts)
        outputs: list[tuple[str, int]] = [("", 0)] * len(prompts)
        with torch.inference_mode():
            for batch in prompt_batches([len(x) for x in ids], self.batch_size, self.max_batch_tokens):
                _, _, generated = self._generate_batch([ids[i] for i in batch], decoding)
                for i, row in zip(batch, generated.tolist(), strict=True):
                    outputs[i] = chat.text(chat.finish(row, decoding.end_ids)[0])
        return outputs

    # --- scored hypotheses for the retry ladder (``pipeline.engines.protocol.CandidateEngine``) -------------

    def token_log_probs(self, input_ids: Any, mask: Any, generated: Any, copies: int, rows_per_pass: int = 4) -> Any:
        """Each generated token's log-probability, by one teacher-forced pass over prompt and output.

        ``output_scores`` would keep a vocabulary-sized tensor per step and hypothesis; this keeps
        the logits of the generated positions of a few rows at a time (``logits_to_keep``).
        """
        import torch

        _, net = self.load()
        full = torch.cat([input_ids.repeat_interleave(copies, dim=0), generated], dim=1)
        full_mask = torch.cat([mask.repeat_interleave(copies, dim=0), torch.ones_like(generated)], dim=1)
        positions = (full_mask.cumsum(-1) - 1).clamp(min=0)  # as generate() numbers a left-padded prompt
        steps = generated.shape[1]
        out = []
        for start in range(0, full.shape[0], rows_per_pass):
            rows = slice(start, start + rows_per_pass)
            logits = net(
                input_ids=full[rows],
                attention_mask=full_mask[rows],
                position_ids=positions[rows],
                logits_to_keep=steps + 1,
            ).logits[:, :-1]
            log_probs = torch.log_softmax(logits.float(), dim=-1)
            out.append(log_probs.gather(-1, generated[rows].unsqueeze(-1)).squeeze(-1))
        return torch.cat(out)

    def decode(
        self, prompts: Sequence[str], request: DecodeRequest, static_prefix: str | None = None
    ) -> list[list[Candidate]]:
        """For each prompt, its hypotheses best first, each scored by its mean token log-probability.

        ``static_prefix`` is not used here (transformers keeps no prompt cache across calls).
        The mean runs over the generated tokens up to and including the end token. Without
        ``request.scores`` the teacher-forced pass is skipped and every score is ``None``.
        """
        import torch

        chat = self.chat
        decoding, items, tokens = self.request_decoding(request)
        n = request.num_return_sequences
        ids = [chat.encode(p) for p in prompts]
        outputs: list[list[Candidate]] = [[] for _ in prompts]
        with torch.inference_mode():
            for batch in prompt_batches([len(x) for x in ids], items, tokens):
                input_ids, mask, generated = self._generate_batch([ids[i] for i in batch], decoding, n)
                log_probs = self.token_log_probs(input_ids, mask, generated, n).tolist() if request.scores else None
                for row, tokens_row in enumerate(generated.tolist()):
                    content, ended = chat.finish(tokens_row, decoding.end_ids)
                    score = None
                    if log_probs is not None:
                        values = log_probs[row][: len(content) + int(ended)]
                        score = sum(values) / len(values) if values else None
                    text, counted = chat.text(content)
                    outputs[batch[row // n]].append(Candidate(text, score, counted))
        return outputs
