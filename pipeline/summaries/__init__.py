"""Summarisers: abstractive (seq2seq models, map-reduce over long input) and extractive (TextRank).

Owns the ``Summary`` result and the ``Summarizer`` interface (``base``), ``Seq2SeqSummarizer``
(``abstractive``) and ``ExtractiveSummarizer`` (``extractive``). It may import
``pipeline.engines``, ``pipeline.models``, ``pipeline.text`` and the base modules; never
``translation`` (its sibling), ``runs`` or above.
"""
