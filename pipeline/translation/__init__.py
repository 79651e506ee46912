"""Translators: a model on an engine, with the glossary, guards and ladder, segment by segment.

Owns the ``Translator`` interface every caller uses, the ``Translation`` a segment becomes,
and ``Seq2SeqTranslator`` (MarianMT, NLLB), which splits sentences too long for the model and
joins their pieces. Caching is not here: ``pipeline.runs.cache`` wraps any translator. It may
import ``pipeline.quality``, ``pipeline.engines``, ``pipeline.models``, ``pipeline.text`` and
the base modules; never ``summaries`` (its sibling), ``runs`` or above.
"""
