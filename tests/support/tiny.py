"""Random-weight stand-ins for the real seq2seq checkpoints.

Tests, offline trials (``make tiny-models``) and benchmarks run without the
Hugging Face hub, so they cannot download ``Helsinki-NLP/opus-mt-nl-en`` or
``sshleifer/distilbart-cnn-12-6``.  This module builds models of the *real*
classes (``MarianMTModel``, ``BartForConditionalGeneration``,
``PegasusForConditionalGeneration``, ``M2M100ForConditionalGeneration`` for NLLB)
with *real* tokenizer files trained on the fly, saved with ``save_pretrained``
(one shared builder) so every loader (``AutoTokenizer``,
``AutoModelForSeq2SeqLM``, CTranslate2's converter) sees the same layout as the
hub checkpoints.  Outputs are gibberish by design; only shapes, file formats,
special-token conventions and generation settings are faithful.

Heavy libraries are imported inside the functions so that importing this
module (e.g. from a Makefile helper or a CLI) stays cheap.
"""

from __future__ import annotations

import io
import itertools
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

__all__ = [
    "DISTILBART_CNN_12_6",
    "MARIAN_OPUS_NL_EN",
    "NLLB_200_DISTILLED_600M",
    "PEGASUS_CNN_DAILYMAIL",
    "build_bart_like",
    "build_marian_like",
    "build_tiny_bart",
    "build_tiny_marian",
    "build_tiny_nllb",
    "build_tiny_pegasus",
    "training_corpus",
]

# Architecture of Helsinki-NLP/opus-mt-nl-en (config.json on the hub).
MARIAN_OPUS_NL_EN: dict[str, int] = {
    "vocab_size": 67028,
    "d_model": 512,
    "encoder_layers": 6,
    "decoder_layers": 6,
    "encoder_attention_heads": 8,
    "decoder_attention_heads": 8,
    "encoder_ffn_dim": 2048,
    "decoder_ffn_dim": 2048,
    "max_position_embeddings": 512,
}

# Architecture of sshleifer/distilbart-cnn-12-6 (12 encoder, 6 decoder layers).
DISTILBART_CNN_12_6: dict[str, int] = {
    "vocab_size": 50264,
    "d_model": 1024,
    "encoder_layers": 12,
    "decoder_layers": 6,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
    "max_position_embeddings": 1024,
}

# Architecture of google/pegasus-cnn_dailymail (for reference; heavy: ~570M params).
PEGASUS_CNN_DAILYMAIL: dict[str, int] = {
    "vocab_size": 96103,
    "d_model": 1024,
    "encoder_layers": 16,
    "decoder_layers": 16,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
    "max_position_embeddings": 1024,
}

_ARCH_KEYS = frozenset(MARIAN_OPUS_NL_EN)

# Init std = _INIT_GAIN / sqrt(d_model), i.e. 0.4 for d_model=64.  The library
# default (0.02) gives tiny random models whose output barely depends on the
# input (every sentence "translates" to the same token soup), which would make
# equivalence tests between backends vacuous.  A large std sharpens attention so
# different inputs diverge; scaling by 1/sqrt(d_model) keeps activations of the
# full-size architectures in the same range, so fp16/int8 backends do not overflow.
_INIT_GAIN = 3.2
# Extra factor on cross-attention queries and values (see _sharpen_cross_attention).
_CROSS_ATTENTION_GAIN = 2.0

# Upper bound on each sentencepiece model; the corpus cannot support much more.
_MAX_SPM_PIECES = 400

# ---------------------------------------------------------------------------
# Corpus
# ---------------------------------------------------------------------------

# Parallel word lists (same index, same meaning) so the two corpora are aligned.
# fmt: off
_NL_SUBJECTS = ("De minister", "Het kabinet", "De burgemeester", "Een woordvoerder", "De president",
                "De regering", "Het parlement", "De politie", "Een onderzoeker", "De rechter")
_EN_SUBJECTS = ("The minister", "The cabinet", "The mayor", "A spokesperson", "The president",
                "The government", "Parliament", "The police", "A researcher", "The judge")
_NL_VERBS = ("zegt dat", "meldt dat", "verwacht dat", "ontkent dat", "bevestigt dat")
_EN_VERBS = ("says that", "reports that", "expects that", "denies that", "confirms that")
_NL_CLAUSES = ("de economie groeit", "de prijzen stijgen", "het overleg woensdag doorgaat",
               "de gesprekken over integratie vastlopen", "er nog geen akkoord is", "de belasting omhoog gaat",
               "de verkiezingen in maart worden gehouden", "het land onafhankelijk blijft",
               "de korting op gas verdwijnt", "de leiders elkaar volgende week zien")
_EN_CLAUSES = ("the economy is growing", "prices are rising", "the talks will go ahead on Wednesday",
               "the negotiations on integration are stalling", "there is no agreement yet", "taxes are going up",
               "the elections will be held in March", "the country remains independent",
               "the discount on gas will disappear", "the leaders will meet next week")
_NL_TAILS = ("", " volgens ingewijden", " in Den Haag", " na lang beraad", " tegen de verwachting in")
_EN_TAILS = ("", " according to insiders", " in The Hague", " after long deliberation", " against expectations")
_NL_TALKS = ("bespreekt", "besprak", "onderhandelt over", "sprak gisteren over")
_EN_TALKS = ("discusses", "discussed", "is negotiating", "talked yesterday about")
_NL_TOPICS = ("de nieuwe begroting", "het klimaatbeleid", "de gasprijzen", "de pensioenhervorming", "de woningnood",
              "de stikstofcrisis", "de oorlog in Oekraïne", "de handelsakkoorden", "het onderwijsbudget",
              "de zorgkosten", "de migratiecijfers", "de energietransitie")
_EN_TOPICS = ("the new budget", "climate policy", "gas prices", "pension reform", "the housing shortage",
              "the nitrogen crisis", "the war in Ukraine", "the trade agreements", "the education budget",
              "healthcare costs", "migration figures", "the energy transition")
_NL_PARTNERS = ("de vakbonden", "de werkgevers", "de oppositie", "Brussel", "de provincies", "de gemeenten",
                "de Europese Commissie", "de buurlanden")
_EN_PARTNERS = ("the unions", "employers", "the opposition", "Brussels", "the provinces", "the municipalities",
                "the European Commission", "neighbouring countries")
_NL_CITIES = ("Amsterdam", "Rotterdam", "Utrecht", "Moskou", "Minsk", "Berlijn", "Parijs", "Sint-Petersburg", "Kiev")
_EN_CITIES = ("Amsterdam", "Rotterdam", "Utrecht", "Moscow", "Minsk", "Berlin", "Paris", "Saint Petersburg", "Kyiv")
# fmt: on

# Sentences that make sure digits, capitals, diacritics and typographic
# punctuation of real Dutch news text are in the sentencepiece alphabets.
_NL_EXTRA = (
    "Pa's wijze lynx bezag vroom het fikse aquaduct.",
    "PA'S WIJZE LYNX BEZAG VROOM HET FIKSE AQUADUCT!",
    "„Dat zal nooit gebeuren zolang ik de leiding heb”, bezweert hij.",
    "Het land profiteert van kortingen op Russisch gas en olie –Minsk verkoopt die door– en leningen.",
    "Sinds 1994 is 12,5% van het budget (ruim €3 miljard) verdwenen; waarom?",
    "De coördinator in België noemde één van de ideeën „naïef” — een café-discussie…",
    "Op 7 december 2019 om 08:30 uur: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 & meer.",
    'Zij vroeg: ‘Is dat echt zo?’ Hij zei: "Ja" [zie bijlage] {concept} / #12 @Den_Haag.',
    "Çà en là: à, á, â, ä, è, é, ê, ë, ì, í, î, ï, ò, ó, ô, ö, ù, ú, û, ü, ñ, ß.",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 +-*=<>|~^$_`",
)
_EN_EXTRA = (
    "The quick brown fox jumps over the lazy dog.",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG?",
    "“That will never happen as long as I am in charge,” he insists.",
    "The country profits from discounts on Russian gas and oil – Minsk sells it on — and loans.",
    "Since 1994, 12.5% of the budget (over €3 billion, or $3.3bn) has vanished; why?",
    "The coordinator in Belgium called one of the ideas ‘naïve’ — a café discussion…",
    "On 7 December 2019 at 08:30: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 & more.",
    "She asked: 'Is that really so?' He said: \"Yes\" [see annex] {draft} / #12 @The_Hague.",
    "Zürich, Kraków, Malmö, São Paulo, Besançon: á, é, í, ó, ú, ü, ñ, ç, ß.",
    "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 +-*=<>|~^$_`",
)


def _sentences(
    subjects: tuple[str, ...],
    verbs: tuple[str, ...],
    clauses: tuple[str, ...],
    tails: tuple[str, ...],
    talks: tuple[str, ...],
    topics: tuple[str, ...],
    partners: tuple[str, ...],
    cities: tuple[str, ...],
    extra: tuple[str, ...],
    with_word: str,
) -> list[str]:
    """Two templates x word lists, strided so the result stays a few hundred sentences.

    Parallel word lists keep the Dutch and English corpora aligned (same index,
    same meaning), which makes them usable as toy parallel data too.
    """
    reported = [
        f"{subject} {verb} {clause}{tails[i % len(tails)]}."
        for i, (subject, verb, clause) in enumerate(itertools.product(subjects, verbs, clauses))
        if i % 2 == 0
    ]
    meetings = [
        f"{subjects[i % len(subjects)]} {talks[i % len(talks)]} {topics[(7 * i) % len(topics)]}"
        f" {with_word} {partners[(3 * i) % len(partners)]} in {cities[(5 * i) % len(cities)]}."
        for i in range(200)
    ]
    return reported + meetings + list(extra)


def _dutch_corpus() -> list[str]:
    return _sentences(
        _NL_SUBJECTS,
        _NL_VERBS,
        _NL_CLAUSES,
        _NL_TAILS,
        _NL_TALKS,
        _NL_TOPICS,
        _NL_PARTNERS,
        _NL_CITIES,
        _NL_EXTRA,
        "met",
    )


def _english_corpus() -> list[str]:
    return _sentences(
        _EN_SUBJECTS,
        _EN_VERBS,
        _EN_CLAUSES,
        _EN_TAILS,
        _EN_TALKS,
        _EN_TOPICS,
        _EN_PARTNERS,
        _EN_CITIES,
        _EN_EXTRA,
        "with",
    )


def training_corpus() -> list[str]:
    """Deterministic Dutch + English sentences used to train the tiny tokenizers.

    Generated from templates rather than shipped as data so that builds need
    no files and always produce the same tokenizers.
    """
    return _dutch_corpus() + _english_corpus()


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _resolve_arch(
    arch: Mapping[str, int] | None,
    *,
    vocab_size: int,
    d_model: int,
    layers: int,
    heads: int,
    ffn: int,
    max_positions: int,
) -> dict[str, Any]:
    """Merge the small-size keyword arguments with an optional full architecture dict."""
    resolved: dict[str, Any] = {
        "vocab_size": vocab_size,
        "d_model": d_model,
        "encoder_layers": layers,
        "decoder_layers": layers,
        "encoder_attention_heads": heads,
        "decoder_attention_heads": heads,
        "encoder_ffn_dim": ffn,
        "decoder_ffn_dim": ffn,
        "max_position_embeddings": max_positions,
    }
    if arch is not None:
        unknown = set(arch) - _ARCH_KEYS
        if unknown:
            raise ValueError(f"unknown architecture keys: {sorted(unknown)}")
        resolved.update(arch)
    if resolved["d_model"] % resolved["encoder_attention_heads"] or (
        resolved["d_model"] % resolved["decoder_attention_heads"]
    ):
        raise ValueError("d_model must be divisible by the number of attention heads")
    return resolved


# Files a loader prefers over the ones each build writes first; stale copies from an
# earlier build into the same directory would shadow the fresh tokenizer.
_STALE_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")


def _prepare_dir(out_dir: Path, stale: Iterable[str] = _STALE_FILES) -> Path:
    """``out_dir``, created, without the ``stale`` files of an earlier build."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in stale:
        (out_dir / name).unlink(missing_ok=True)
    return out_dir


def _init_std(init_std: float | None, sizes: Mapping[str, int]) -> float:
    return init_std if init_std is not None else _INIT_GAIN / math.sqrt(sizes["d_model"])


def _train_spm(
    sentences: Iterable[str],
    vocab_size: int,
    *,
    pad_id: int = -1,
    eos_id: int = 2,
    unk_id: int = 0,
    bos_id: int = 1,
    model_type: str = "unigram",
    **options: Any,
) -> bytes:
    """Train a unigram sentencepiece model in memory and return its serialized proto.

    ``hard_vocab_limit=False`` lets the trainer return fewer pieces when the
    tiny corpus cannot support ``vocab_size``; one thread and no shuffling keep
    the result reproducible. ``options`` are further trainer options (``byte_fallback``).
    """
    import sentencepiece as spm

    writer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(list(sentences)),
        model_writer=writer,
        model_type=model_type,
        vocab_size=vocab_size,
        hard_vocab_limit=False,
        character_coverage=1.0,
        num_threads=1,
        shuffle_input_sentence=False,
        unk_id=unk_id,
        bos_id=bos_id,
        eos_id=eos_id,
        pad_id=pad_id,
        minloglevel=2,
        **options,
    )
    return writer.getvalue()


def _spm_pieces(model_proto: bytes) -> list[str]:
    """Ordinary (non-control, non-unk) pieces of a serialized sentencepiece model."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_proto=model_proto)
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size()) if not (sp.is_control(i) or sp.is_unknown(i))]


def _fillers(prefix: str, count: int, taken: Mapping[str, int] | set[str]) -> list[str]:
    """Filler tokens that pad a vocabulary up to the real model's size.

    They are never produced by the tokenizer but decode to readable text
    (``tok123``) when a random model generates them.
    """
    out: list[str] = []
    i = 0
    while len(out) < count:
        token = f"{prefix}tok{i}"
        if token not in taken:
            out.append(token)
        i += 1
    return out


def _sharpen_cross_attention(model: torch.nn.Module, factor: float = _CROSS_ATTENTION_GAIN) -> None:
    """Scale cross-attention queries and values so the decoder follows the source.

    Sharper, stronger cross-attention is what makes a random model's output
    depend on its input; without it some seeds give one output for every input.
    """
    import torch

    with torch.no_grad():
        for layer in model.model.decoder.layers:  # type: ignore[union-attr]
            layer.encoder_attn.q_proj.weight.mul_(factor)
            layer.encoder_attn.v_proj.weight.mul_(factor)


def _check_finite(model: torch.nn.Module) -> None:
    import torch

    for name, param in model.state_dict().items():
        if param.is_floating_point() and not torch.isfinite(param).all():
            raise RuntimeError(f"non-finite values in {name}")


def _length_settings(fixed_length: int | None, *, min_length: int | None, max_length: int | None) -> dict[str, Any]:
    """Generation length keys: either a length window, or an exact number of new tokens.

    ``min_new_tokens`` suppresses EOS until ``fixed_length`` tokens have been
    produced and ``max_new_tokens`` stops there, so every output has exactly
    ``fixed_length`` new tokens -- what a throughput benchmark needs.
    """
    if fixed_length is not None:
        if fixed_length < 1:
            raise ValueError("fixed_length must be >= 1")
        return {"min_new_tokens": fixed_length, "max_new_tokens": fixed_length}
    settings: dict[str, Any] = {}
    if min_length is not None:
        settings["min_length"] = min_length
    if max_length is not None:
        settings["max_length"] = max_length
    return settings


def _beam_settings(num_beams: int, **beam_only: Any) -> dict[str, Any]:
    """Beam-search-only flags are dropped for greedy configs (v5 refuses to save them)."""
    settings: dict[str, Any] = {"num_beams": num_beams}
    if num_beams > 1:
        settings.update(beam_only)
    return settings


def _build_model(
    out_dir: Path,
    architecture: str,
    sizes: Mapping[str, int],
    config: Mapping[str, Any],
    generation: Mapping[str, Any],
    *,
    tokenizer: Any,
    num_beams: int,
    max_length: int | None,
    fixed_length: int | None,
    seed: int,
    init_std: float | None,
    min_length: int | None = None,
    beam_only: Mapping[str, Any] | None = None,
) -> Path:
    """What every family shares: seeded random weights of the real class, generation settings, files.

    ``architecture`` names the transformers model class (``MarianMTModel``…) and picks its
    config class; ``config`` and ``generation`` hold the family's own keys besides the sizes,
    the beams and the lengths; ``beam_only`` keys are kept only for beam search.
    """
    import torch
    import transformers

    model_class = getattr(transformers, architecture)
    model_config = model_class.config_class(
        **sizes, init_std=_init_std(init_std, sizes), architectures=[architecture], **config
    )
    torch.manual_seed(seed)  # weights are initialised in the constructor
    model = model_class(model_config).eval()
    _sharpen_cross_attention(model)
    _check_finite(model)
    model.generation_config = transformers.GenerationConfig(
        **generation,
        **_beam_settings(num_beams, **(beam_only or {})),
        **_length_settings(fixed_length, min_length=min_length, max_length=max_length),
    )
    model.save_pretrained(out_dir)
    if tokenizer is not None:
        tokenizer.save_pretrained(out_dir)
    return out_dir


# ---------------------------------------------------------------------------
# Marian (opus-mt-nl-en)
# ---------------------------------------------------------------------------


def build_tiny_marian(
    out_dir: Path,
    *,
    vocab_size: int = 800,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    ffn: int = 128,
    max_positions: int = 512,
    num_beams: int = 2,
    max_length: int = 64,
    fixed_length: int | None = None,
    seed: int = 0,
    arch: Mapping[str, int] | None = None,
    init_std: float | None = None,
) -> Path:
    """Build a random ``MarianMTModel`` laid out like Helsinki-NLP/opus-mt-nl-en.

    Two unigram sentencepiece models (``source.spm`` on Dutch, ``target.spm``
    on English) share one ``vocab.json`` as in opus-mt: ``</s>``=0, ``<unk>``=1,
    the union of pieces, filler tokens up to ``vocab_size`` and ``<pad>`` as the
    LAST id (it doubles as decoder start token).  ``arch`` (e.g.
    ``MARIAN_OPUS_NL_EN``) overrides the size keywords.
    """
    from transformers import MarianTokenizer

    sizes = _resolve_arch(
        arch,
        vocab_size=vocab_size,
        d_model=d_model,
        layers=layers,
        heads=heads,
        ffn=ffn,
        max_positions=max_positions,
    )
    total = sizes["vocab_size"]
    if total < 64:
        raise ValueError("vocab_size must be at least 64")
    out_dir = _prepare_dir(out_dir)

    # Each side gets about half of the vocabulary (capped): the union of both
    # plus </s>, <unk> and <pad> then never exceeds ``total``.
    spm_size = min(_MAX_SPM_PIECES, (total - 3) // 2)
    src_proto = _train_spm(_dutch_corpus(), spm_size)
    tgt_proto = _train_spm(_english_corpus(), spm_size)

    vocab: dict[str, int] = {"</s>": 0, "<unk>": 1}
    for piece in _spm_pieces(src_proto) + _spm_pieces(tgt_proto):
        vocab.setdefault(piece, len(vocab))
    for filler in _fillers("▁", total - 1 - len(vocab), vocab):
        vocab[filler] = len(vocab)
    pad_id = len(vocab)
    vocab["<pad>"] = pad_id
    assert len(vocab) == total

    (out_dir / "source.spm").write_bytes(src_proto)
    (out_dir / "target.spm").write_bytes(tgt_proto)
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False, indent=2), encoding="utf-8")
    tokenizer = MarianTokenizer(
        source_spm=str(out_dir / "source.spm"),
        target_spm=str(out_dir / "target.spm"),
        vocab=str(out_dir / "vocab.json"),
        source_lang="nl",
        target_lang="en",
        model_max_length=sizes["max_position_embeddings"],
    )

    # Mirrors the hub config.json of opus-mt-nl-en (post-norm, swish, sinusoidal
    # positions, sqrt(d_model) embedding scale, tied embeddings).
    tokens = {"pad_token_id": pad_id, "decoder_start_token_id": pad_id, "eos_token_id": 0, "forced_eos_token_id": 0}
    return _build_model(
        out_dir,
        "MarianMTModel",
        sizes,
        {
            **tokens,
            "decoder_vocab_size": total,
            "activation_function": "swish",
            "dropout": 0.1,
            "attention_dropout": 0.0,
            "activation_dropout": 0.0,
            "scale_embedding": True,
            "share_encoder_decoder_embeddings": True,
            "tie_word_embeddings": True,
            "bos_token_id": 0,
        },
        {**tokens, "bad_words_ids": [[pad_id]], "bos_token_id": 0, "renormalize_logits": True},
        tokenizer=tokenizer,
        num_beams=num_beams,
        max_length=max_length,
        fixed_length=fixed_length,
        seed=seed,
        init_std=init_std,
    )


def build_marian_like(
    out_dir: Path,
    arch: Mapping[str, int],
    fixed_length: int | None = None,
    *,
    num_beams: int = 4,
    max_length: int = 512,
    seed: int = 0,
) -> Path:
    """Build a random Marian of a full architecture (e.g. ``MARIAN_OPUS_NL_EN``) for benchmarks."""
    return build_tiny_marian(
        out_dir, arch=arch, fixed_length=fixed_length, num_beams=num_beams, max_length=max_length, seed=seed
    )


# ---------------------------------------------------------------------------
# BART (distilbart-cnn-12-6)
# ---------------------------------------------------------------------------


def build_tiny_bart(
    out_dir: Path,
    *,
    vocab_size: int = 800,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    ffn: int = 128,
    max_positions: int = 1024,
    num_beams: int = 2,
    min_length: int = 8,
    max_length: int = 48,
    fixed_length: int | None = None,
    seed: int = 0,
    arch: Mapping[str, int] | None = None,
    init_std: float | None = None,
) -> Path:
    """Build a random ``BartForConditionalGeneration`` laid out like distilbart-cnn-12-6.

    A byte-level BPE (``vocab.json`` + ``merges.txt`` + ``tokenizer.json``) is
    trained on the English corpus with ``<s>``=0 ``<pad>``=1 ``</s>``=2
    ``<unk>``=3 and ``<mask>`` as the last id; filler tokens pad it to
    ``vocab_size``.  Generation settings follow the CNN summariser
    (``no_repeat_ngram_size=3``, ``length_penalty=2.0``, early stopping).
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import BartTokenizer

    sizes = _resolve_arch(
        arch,
        vocab_size=vocab_size,
        d_model=d_model,
        layers=layers,
        heads=heads,
        ffn=ffn,
        max_positions=max_positions,
    )
    total = sizes["vocab_size"]
    if total < 300:
        raise ValueError("vocab_size must be at least 300 (256 byte symbols + specials)")
    out_dir = _prepare_dir(out_dir)

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        _english_corpus(),
        vocab_size=min(total - 1, 256 + len(specials) + 2000),
        min_frequency=2,
        special_tokens=specials,
        show_progress=False,
    )
    model_json = json.loads(bpe.to_str())["model"]
    vocab: dict[str, int] = dict(sorted(model_json["vocab"].items(), key=lambda kv: kv[1]))
    merges: list[tuple[str, str]] = []
    for merge in model_json["merges"]:  # ["a", "b"] in recent tokenizers, "a b" in older ones
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        merges.append((left, right))
    for filler in _fillers("Ġ", total - 1 - len(vocab), vocab):
        vocab[filler] = len(vocab)
    vocab["<mask>"] = len(vocab)
    assert len(vocab) == total and list(vocab.values()) == list(range(total))

    # distilbart-cnn on the hub ships exactly these two files; load them the same way.
    (out_dir / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (out_dir / "merges.txt").write_text(
        "#version: 0.2\n" + "".join(f"{left} {right}\n" for left, right in merges), encoding="utf-8"
    )
    tokenizer = BartTokenizer.from_pretrained(out_dir, model_max_length=sizes["max_position_embeddings"])
    if len(tokenizer) != total:
        raise RuntimeError(f"bart tokenizer has {len(tokenizer)} tokens, expected {total}")

    tokens = {"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 2}
    return _build_model(
        out_dir,
        "BartForConditionalGeneration",
        sizes,
        {
            **tokens,
            "forced_eos_token_id": 2,
            "activation_function": "gelu",
            "dropout": 0.1,
            "attention_dropout": 0.0,
            "activation_dropout": 0.0,
            "scale_embedding": False,
            "tie_word_embeddings": True,
        },
        {**tokens, "forced_bos_token_id": 0, "forced_eos_token_id": 2, "no_repeat_ngram_size": 3},
        tokenizer=tokenizer,
        num_beams=num_beams,
        max_length=max_length,
        fixed_length=fixed_length,
        seed=seed,
        init_std=init_std,
        min_length=min_length,
        beam_only={"length_penalty": 2.0, "early_stopping": True},
    )


def build_bart_like(
    out_dir: Path,
    arch: Mapping[str, int],
    fixed_length: int | None = None,
    *,
    num_beams: int = 4,
    min_length: int = 56,
    max_length: int = 142,
    seed: int = 0,
) -> Path:
    """Build a random BART of a full architecture (e.g. ``DISTILBART_CNN_12_6``) for benchmarks."""
    return build_tiny_bart(
        out_dir,
        arch=arch,
        fixed_length=fixed_length,
        num_beams=num_beams,
        min_length=min_length,
        max_length=max_length,
        seed=seed,
    )


# ---------------------------------------------------------------------------
# PEGASUS (pegasus-cnn_dailymail)
# ---------------------------------------------------------------------------

# The tokenizer puts <pad>, </s>, <mask_1>, <mask_2>, <unk_2>..<unk_102> (105 ids)
# in front of the spm pieces other than <pad> and </s>: len(tokenizer) = spm size + 103.
_PEGASUS_OFFSET = 103


def _pad_spm(model_proto: bytes, target_size: int) -> bytes:
    """Append never-matching filler pieces so the spm vocab reaches ``target_size``."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
    proto.ParseFromString(model_proto)
    existing = {p.piece for p in proto.pieces}
    lowest = min((p.score for p in proto.pieces if p.type == p.NORMAL), default=0.0)
    for filler in _fillers("▁", target_size - len(proto.pieces), existing):
        piece = proto.pieces.add()
        piece.piece = filler
        piece.score = lowest - 10.0
        piece.type = piece.NORMAL
    return bytes(proto.SerializeToString())


def build_tiny_pegasus(
    out_dir: Path,
    *,
    vocab_size: int = 600,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    ffn: int = 128,
    max_positions: int = 1024,
    num_beams: int = 2,
    min_length: int = 8,
    max_length: int = 48,
    fixed_length: int | None = None,
    seed: int = 0,
    arch: Mapping[str, int] | None = None,
    init_std: float | None = None,
) -> Path:
    """Build a random ``PegasusForConditionalGeneration`` laid out like google/pegasus-cnn_dailymail.

    ``spiece.model`` is trained with Pegasus' ids (``<pad>``=0, ``</s>``=1,
    ``<unk>``=2); the tokenizer shifts ordinary pieces by its 103-token
    offset, so ``vocab_size`` counts those reserved ids too.
    """
    from transformers import PegasusTokenizer

    sizes = _resolve_arch(
        arch,
        vocab_size=vocab_size,
        d_model=d_model,
        layers=layers,
        heads=heads,
        ffn=ffn,
        max_positions=max_positions,
    )
    total = sizes["vocab_size"]
    spm_size = total - _PEGASUS_OFFSET
    if spm_size < 100:
        raise ValueError(f"vocab_size must be at least {_PEGASUS_OFFSET + 100}")
    out_dir = _prepare_dir(out_dir)

    # Trained on both languages so Dutch quotes and diacritics never become <unk>.
    proto = _train_spm(training_corpus(), min(spm_size, _MAX_SPM_PIECES), pad_id=0, eos_id=1, unk_id=2, bos_id=-1)
    proto = _pad_spm(proto, spm_size)
    (out_dir / "spiece.model").write_bytes(proto)
    tokenizer = PegasusTokenizer.from_pretrained(str(out_dir), model_max_length=sizes["max_position_embeddings"])
    if len(tokenizer) != total:
        raise RuntimeError(f"pegasus tokenizer has {len(tokenizer)} tokens, expected {total}")

    # google/pegasus-cnn_dailymail: pre-norm (hard-wired in the HF class), relu,
    # sinusoidal positions, sqrt(d_model) embedding scale.
    tokens = {"pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0, "forced_eos_token_id": 1}
    return _build_model(
        out_dir,
        "PegasusForConditionalGeneration",
        sizes,
        {
            **tokens,
            "activation_function": "relu",
            "dropout": 0.1,
            "attention_dropout": 0.1,
            "activation_dropout": 0.1,
            "scale_embedding": True,
            "tie_word_embeddings": True,
        },
        tokens,
        tokenizer=tokenizer,
        num_beams=num_beams,
        max_length=max_length,
        fixed_length=fixed_length,
        seed=seed,
        init_std=init_std,
        min_length=min_length,
        beam_only={"length_penalty": 0.8},
    )


# ---------------------------------------------------------------------------
# NLLB (facebook/nllb-200-distilled-600M)
# ---------------------------------------------------------------------------

# Architecture of facebook/nllb-200-distilled-600M (M2M100ForConditionalGeneration).
NLLB_200_DISTILLED_600M: dict[str, int] = {
    "vocab_size": 256206,
    "d_model": 1024,
    "encoder_layers": 12,
    "decoder_layers": 12,
    "encoder_attention_heads": 16,
    "decoder_attention_heads": 16,
    "encoder_ffn_dim": 4096,
    "decoder_ffn_dim": 4096,
    "max_position_embeddings": 1024,
}

# The hub model's embedding matrix has two rows more than the tokenizer has tokens.
_NLLB_MADEUP_WORDS = 2


def _nllb_tokenizer(out_dir: Path, model_max_length: int) -> Any:
    """A real ``NllbTokenizer`` with NLLB's id layout, on a small sentencepiece BPE model.

    As on the hub: ``<s>`` ``<pad>`` ``</s>`` ``<unk>`` = 0..3, the sentencepiece pieces,
    then the 202 language codes, then ``<mask>`` last; ``sentencepiece.bpe.model`` and
    the ``tokenizer.json`` it converts to are both saved.
    """
    from transformers import NllbTokenizer
    from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES

    proto = _train_spm(training_corpus(), _MAX_SPM_PIECES, model_type="bpe", unk_id=0, bos_id=1, eos_id=2)
    (out_dir / "sentencepiece.bpe.model").write_bytes(proto)
    languages = {"src_lang": "nld_Latn", "tgt_lang": "eng_Latn"}
    converted = NllbTokenizer.from_pretrained(
        str(out_dir), extra_special_tokens=list(FAIRSEQ_LANGUAGE_CODES), model_max_length=model_max_length, **languages
    )
    converted.save_pretrained(str(out_dir))
    # transformers puts <mask> before the language codes; the hub checkpoint has it after them.
    path = out_dir / "tokenizer.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    mask = next(t for t in data["added_tokens"] if t["content"] == "<mask>")
    for token in data["added_tokens"]:
        if token["content"] in FAIRSEQ_LANGUAGE_CODES and token["id"] > mask["id"]:
            token["id"] -= 1
    mask["id"] = len(converted) - 1
    data["added_tokens"].sort(key=lambda t: t["id"])
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    tokenizer = NllbTokenizer.from_pretrained(str(out_dir), **languages)
    if tokenizer.convert_tokens_to_ids("<mask>") != len(tokenizer) - 1 or len(tokenizer) != len(converted):
        raise RuntimeError("the NLLB tokenizer did not keep the hub's id layout")
    return tokenizer


def build_tiny_nllb(
    out_dir: Path,
    *,
    d_model: int = 64,
    layers: int = 2,
    heads: int = 4,
    ffn: int = 128,
    max_positions: int = 1024,
    num_beams: int = 2,
    max_length: int = 48,
    fixed_length: int | None = None,
    seed: int = 0,
    init_std: float | None = None,
) -> Path:
    """Build a random ``M2M100ForConditionalGeneration`` laid out like facebook/nllb-200-distilled-600M.

    The real ``NllbTokenizer`` on a sentencepiece BPE trained on the corpus, with the
    hub's special-token layout (language codes, ``<mask>`` last, two made-up embedding
    rows); ``tokenizer_class`` ``NllbTokenizer`` in ``config.json``; decoding starts with
    ``</s>`` and the target language is forced by the caller (``eng_Latn``).
    """
    out_dir = _prepare_dir(out_dir)
    (out_dir / "sentencepiece.bpe.model").unlink(missing_ok=True)
    tokenizer = _nllb_tokenizer(out_dir, max_positions)
    sizes = _resolve_arch(
        None,
        vocab_size=len(tokenizer) + _NLLB_MADEUP_WORDS,
        d_model=d_model,
        layers=layers,
        heads=heads,
        ffn=ffn,
        max_positions=max_positions,
    )
    # The hub config: pre-norm, relu, sinusoidal positions, sqrt(d_model) embedding scale.
    tokens = {"bos_token_id": 0, "pad_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 2}
    return _build_model(
        out_dir,
        "M2M100ForConditionalGeneration",
        sizes,
        {
            **tokens,
            "activation_function": "relu",
            "dropout": 0.1,
            "attention_dropout": 0.1,
            "activation_dropout": 0.0,
            "scale_embedding": True,
            "tie_word_embeddings": True,
            "tokenizer_class": "NllbTokenizer",
        },
        tokens,
        tokenizer=None,  # saved with the hub's layout already
        num_beams=num_beams,
        max_length=max_length,
        fixed_length=fixed_length,
        seed=seed,
        init_std=init_std,
    )


# ---------------------------------------------------------------------------
# Command line: ``python -m tests.support.tiny models/tiny`` (``make tiny-models``)
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Build the tiny models (or, with ``--full-size``, the real architectures) into OUT_DIR/<family>."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.support.tiny", description=main.__doc__)
    parser.add_argument("out_dir", type=Path, nargs="?", default=Path("models/tiny"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fixed-length", type=int, default=None, help="force exactly N generated tokens")
    parser.add_argument(
        "--full-size",
        action="store_true",
        help="opus-mt-nl-en and distilbart-cnn-12-6 sized models (about 0.3 and 1.2 GB) instead of tiny ones",
    )
    args = parser.parse_args(argv)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # one line per model instead of shard-writing bars
    common: dict[str, Any] = {"seed": args.seed, "fixed_length": args.fixed_length}
    if args.full_size:
        built = [
            build_marian_like(args.out_dir / "marian", MARIAN_OPUS_NL_EN, **common),
            build_bart_like(args.out_dir / "bart", DISTILBART_CNN_12_6, **common),
        ]
    else:
        built = [
            build_tiny_marian(args.out_dir / "marian", **common),
            build_tiny_bart(args.out_dir / "bart", **common),
            build_tiny_pegasus(args.out_dir / "pegasus", **common),
            build_tiny_nllb(args.out_dir / "nllb", **common),
        ]
    for path in built:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
