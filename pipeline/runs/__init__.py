"""Runs: opening models for a command, translating and summarising documents, writing outputs.

Owns the output contract (``outputs``: file names, run names, document folders, publishing) and
the manifest's typed shape (``manifest``), the translation memory (``memory``) and the cache
wrappers around translators and summarisers (``cache``), the sessions that open a model for a
command (``sessions``), one document (``document``), batches of them (``batch``, JSONL corpora in
``corpus``), the summary stage (``summary_stage``) and the Ray executor (``ray_executor``, its
driver-side pool in ``ray_pool`` and its worker actors in ``ray_actors``). It may import every
lower layer (``translation``, ``summaries``, ``quality``, ``engines``, ``models``, ``text``, base
modules); never ``evaluation`` or ``cli``.
"""
