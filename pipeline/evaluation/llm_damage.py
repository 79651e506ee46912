"""What an instruct model gives instead of, or around, a translation: templates to damage correct pairs with.

``nl2en eval guards --damage`` fills these templates with each correct pair of a file and measures how often
the pipeline stops the result: :func:`pipeline.quality.cleaning.clean_output` removing the wrapping, or the
``chatter`` / ``added_content`` guard flagging it (``pipeline.evaluation.guard_eval``).

Each kind's templates come in two halves, so that improving cleaning and guards cannot overfit them:

- **dev**: every other template of the kinds' first list (``_LLM_TEXT``, positions 0, 2, 4 …), the half looked
  at while the patterns are improved;
- **held**: the other half of that list, plus ``_HELD_OUT_TEXT``, written from what chat models reply to a
  translation request before the patterns were changed; measured, never tuned on.

A paragraph a kind, ``# kind guard`` then templates split by ``|``; ¶ is a line break. The fields: ``{en}`` the
translation, ``{clause}`` it as a clause, ``{word}`` a Dutch word of the source, ``{name}`` a name of the
translation, ``{next}`` the translations of the rows that follow. A template whose fields a row cannot fill is
not drawn for it. Each row draws from ``random.Random(f"{kind}:{index}")`` (``:held`` added for the held half).
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.quality.cleaning import clean_output

SPLITS = ("dev", "held")


@dataclass(frozen=True)
class Damage:
    """One damaged output: what was done to it, and the guard that should catch it."""

    kind: str
    index: int
    source: str
    original: str
    damaged: str
    expected: str
    detail: dict[str, Any]


def damage_rng(kind: str, index: int) -> random.Random:
    """The seeded generator of one damage kind on one row."""
    return random.Random(f"{kind}:{index}")


_LLM_TEXT = """
# preamble chatter
Sure! Here's the translation:¶¶{en} | Here is the English translation:¶¶"{en}" | Of course. {en} | No problem! {en}
| Certainly! Here you go:¶{en} | English translation: {en} | Okay, here it is in English:¶¶{en} | In English: “{en}”
| Translated into English, the sentence reads: {en} | The English version would be:¶¶{en}
| Absolutely — here's my translation of the text:¶¶{en} | Here’s a natural-sounding English rendering:¶¶{en}
# refusal chatter
I'm sorry, but I can't help with that request. | I'm sorry, but I can't translate this text.
| I apologize, but I'm unable to provide a translation of this content. | Sorry, I can't assist with that.
| Unfortunately, I cannot translate this passage because it appears to be incomplete.
| I'm afraid I can't do that. The text you provided may contain sensitive information about real people.
| As an AI language model, I must decline to translate content that could spread misinformation.
| My apologies, but I won't be able to help with this one. | Apologies for the mistake in my previous answer. {en}
| I'm sorry for the confusion. Here is the corrected translation:¶¶{en} | Sorry — I don't have enough context for this.
# answer chatter
That's an interesting development. It will be worth watching how this story unfolds. | Yes, that's correct. {en}
| It sounds like a difficult situation for everyone involved. | That's great to hear! | I agree — this matters a lot.
| This is a common concern. Many experts agree that more needs to be done, but opinions differ on the best approach.
| According to the information you provided, {clause}. | Indeed, {clause}. This has been widely reported.
| Good point. {name} has been in the headlines a lot recently. | It depends on the timing and the people involved.
| Thanks for sharing this news! Is there anything you'd like to know about it?
# question chatter
Could you provide a bit more context? Is this from a news article? | Do you want a literal or a natural translation?
| Would you like the translation in British or American English? | Is this the full text, or is there more to come?
| What does “{word}” refer to here? It can be translated in several ways. | Is “{name}” a person or an organisation?
| Should I keep the names as they are, or translate them as well? | Who is the intended audience of this translation?
| {en}¶¶Would you like me to translate the rest of the article too? | Just to check: should “{word}” be literal?
| I want to make sure I get this right — is this a headline or part of the body text?
# explanation chatter
{en}¶¶This sentence means that {clause}. | {en} In other words, {clause}. | {en}¶¶The point is that {clause}.
| {en}¶¶Explanation: the Dutch word “{word}” has no exact English equivalent, so I chose the closest natural phrase.
| {en}¶¶Here, “{word}” literally means something slightly different, but this reads more naturally in English.
| {en}¶¶In this context, “{word}” is best rendered this way; a word-for-word translation would sound awkward.
| {en}¶¶The sentence is written in a formal, journalistic style, which I have kept in the English.
| {en}¶¶Breakdown:¶- “{word}”: the key term of the sentence¶- the word order follows English usage
# note chatter
{en}¶¶(Note: “{word}” is a Dutch term that has been translated freely.) | {en} (Note: names are as in the original.)
| {en}¶¶Note: I translated “{word}” in the sense it has here. | {en} [Translator's note: {name} is as in the source.]
| {en}¶¶*Note: some nuances of the Dutch may be lost in translation.* | {en}¶¶N.B. Punctuation follows English usage.
| {en}¶¶Note: This translation aims to preserve the tone of the original. | {en} (Note: “{word}” may be read otherwise.)
| {en}¶¶(Please note that this is a machine translation and may contain errors.)
# invented added_content
{en} {name} did not respond to a request for comment. | {en} The decision is expected to be announced next week.
| {en} Critics say the plans do not go far enough. | {en} More details are expected in the coming days.
| {en} It is not yet clear how the changes will affect local residents. | {en} The move has been widely welcomed.
| {en} Police have appealed for anyone with information to come forward. | {en} The news follows months of speculation.
| {en} A spokesperson declined to comment further. | {en} Officials said an investigation was under way.
| {en} Analysts expect the situation to remain tense for some time.
# continuation added_content
{en} {next} | {en}¶¶{next} | {en}¶{next}
"""
_HELD_OUT_TEXT = """
# preamble chatter
Here you go:¶¶{en} | Sure, here it is:¶{en} | Sure thing! {en} | Happy to help! Here's the translation:¶¶{en}
| **Translation:**¶¶{en} | Here's how I'd translate it:¶¶{en} | Great question! The sentence translates to:¶¶"{en}"
| This translates to: "{en}" | The translation is as follows:¶¶{en} | Below is the English translation.¶¶{en}
| Translated text:¶{en} | Alright! In English, this would be:¶¶{en}
# refusal chatter
I'm not able to translate this text. | I can't help with translating this, as it appears to contain personal data.
| Sorry, but I can't help with that. | Unfortunately, this text is too short for me to translate accurately.
| I'm unable to complete this request. | Apologies, I can't translate this content.
| I'm really sorry, but translating this is outside what I can do. | Regrettably, I am not able to provide this.
| I must respectfully decline this request. | Sorry! I couldn't translate this properly. {en}
| My apologies for the earlier error. {en} | I'm afraid this text is too ambiguous to translate reliably.
# answer chatter
That's a big step for {name}. | Wow, that's surprising news! | It's true that {clause}. | Great news! {en}
| That makes sense given the current situation. | Interesting! I didn't know that.
| This is indeed an important issue, and it affects many people. | Thank you for the information.
| Absolutely, {clause}. | That's unfortunate. Let's hope things improve soon.
# question chatter
What would you like me to do with this text? | Can you tell me what the context is?
| Do you need this in a formal or informal tone? | Which part would you like translated?
| Is “{word}” meant literally here? | {en}¶¶Shall I translate the next sentence as well?
| {en}¶¶Is there anything else you'd like me to translate?
| Did you mean to send the full article? It looks like only one sentence came through.
| Is this for a newspaper or for personal use? That may change the wording.
| Are you sure this is the complete sentence?
# explanation chatter
{en}¶¶The Dutch word “{word}” is rendered here according to its meaning in context. | {en} Basically, {clause}.
| {en}¶¶In short, {clause}. | {en}¶¶This means that {clause}. | {en}¶¶Context: this appears to be from a news report.
| {en}¶¶The original uses a passive construction, which I have kept in English.
| {en}¶¶A more literal translation would be slightly different, but this version sounds more natural.
| {en}¶¶Key vocabulary:¶- {word}: a Dutch word used here in its usual sense
| {en} (This refers to the fact that {clause}.)
# note chatter
{en}¶¶*(Note: this is a free translation.)*
| {en}¶¶NB: “{word}” can also be translated differently depending on context.
| {en}¶¶---¶Note: I kept the names unchanged. | {en} [Note: the original text may be a headline.]
| {en}¶¶Translator's note: “{word}” has no direct equivalent. | {en}¶¶P.S. Let me know if you need any changes.
| {en}¶¶I hope this helps! Let me know if you'd like any adjustments. | {en}¶¶(Translated from Dutch.)
| {en} — note that some nuance may be lost. | {en}¶¶Note - I have used British spelling.
# invented added_content
{en} The company has not commented on the report. | {en} It is the first time this has happened.
| {en} The investigation is ongoing. | {en} Further updates will follow. | {en} The government has promised to act.
| {en} This is expected to change soon. | {en} {name} has denied any wrongdoing.
| {en} Residents were told to stay indoors.
| {en} No one was injured. | {en} The results will be published later this year.
# continuation added_content
{en}¶¶{next}
"""


def _parse(text: str) -> dict[str, tuple[str, tuple[str, ...]]]:
    """``# kind guard`` paragraphs → kind → (guard, templates)."""
    out: dict[str, tuple[str, tuple[str, ...]]] = {}
    for paragraph in text.split("\n# ")[1:]:
        head, _, body = paragraph.partition("\n")
        kind, expected = head.split()
        out[kind] = (expected, tuple(t.strip().replace("¶", "\n") for t in " ".join(body.splitlines()).split("|")))
    return out


_FIRST, _EXTRA = _parse(_LLM_TEXT), _parse(_HELD_OUT_TEXT)
LLM_SPLITS: dict[str, dict[str, tuple[str, ...]]] = {  # kind → split → templates
    kind: {"dev": templates[0::2], "held": templates[1::2] + _EXTRA[kind][1]} for kind, (_, templates) in _FIRST.items()
}
LLM_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {  # kind → (the guard that should catch it, every template)
    kind: (expected, LLM_SPLITS[kind]["dev"] + LLM_SPLITS[kind]["held"]) for kind, (expected, _) in _FIRST.items()
}
LLM_KINDS = tuple(f"{kind}/{split}" for kind in LLM_TEMPLATES for split in SPLITS)  # the damage kinds reported

_CLAUSE_OPENER = re.compile(r"(?:the|an?|it|he|she|they|there|this|these|that|we|in|on|at|by|after|for|but|when|as)$")
_FIELD = re.compile(r"\{(\w+)\}")


def _fields(rng: random.Random, source: str, target: str, following: Sequence[str]) -> dict[str, str]:
    """The template fields this row can fill (``following``: the next rows' translations)."""
    first, _, rest = target.strip().partition(" ")
    clause = (first.lower() if _CLAUSE_OPENER.match(first.lower()) else first) + (" " + rest if rest else "")
    fields = {"en": target.strip(), "clause": re.sub(r"[.,;:!?]+$", "", clause)}
    words = sorted({w for w in re.findall(r"\b[^\W\d_]{6,}\b", source) if w.islower()})
    names = sorted(set(re.findall(r"(?<=[a-z,] )[A-Z][a-z]{2,}\b", target)))
    if words:
        fields["word"] = rng.choice(words)
    if names:
        fields["name"] = rng.choice(names)
    if following:
        fields["next"] = " ".join(following[: rng.choice((1, 1, 2))])
    return fields


def damage_llm(
    kind: str, index: int, source: str, target: str, following: Sequence[str] = (), split: str = "dev"
) -> Damage | None:
    """What an instruct model gives instead of, or around, the translation: a template of ``kind``'s ``split``.

    The damage's kind is ``kind/split``; ``detail`` names the split and the template's place in it.
    """
    expected = LLM_TEMPLATES[kind][0]
    templates = LLM_SPLITS[kind][split]
    rng = damage_rng(kind if split == "dev" else f"{kind}:{split}", index)
    fields = _fields(rng, source, target, following)
    usable = [t for t in templates if set(_FIELD.findall(t)) <= set(fields)]
    if not usable or not target.strip():
        return None
    template = rng.choice(usable)
    damaged = _FIELD.sub(lambda m: fields[m.group(1)], template)
    detail = {"split": split, "template": templates.index(template)}
    return Damage(f"{kind}/{split}", index, source, target, damaged, expected, detail)


def llm_damages(pairs: Sequence[tuple[str, str]]) -> dict[str, list[Damage]]:
    """Every instruct-model kind, each half, applied to every row it fits (``LLM_KINDS`` order, rows in order)."""
    out: dict[str, list[Damage]] = {}
    for name in LLM_KINDS:
        kind, split = name.split("/")
        out[name] = [
            d
            for i, (s, t) in enumerate(pairs)
            if (d := damage_llm(kind, i, s, t, [e for _, e in pairs[i + 1 : i + 3]], split))
        ]
    return out


def cleaning_changes(pairs: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """The correct translations that ``clean_output`` would change (each a loss of real content), with what it cut."""
    changed = []
    for index, (source, target) in enumerate(pairs):
        cleaned = clean_output(target, source)
        if cleaned.text != target.strip():
            changed.append({"index": index, "en": target, "cleaned": cleaned.text, "stripped": cleaned.record()})
    return changed
