"""nl2en: Dutch→English translation and summarisation of news articles.

Stages are plain library modules (``segment``, ``translate``, ``memory``, ``document``, ``batch``);
``pipeline.cli`` is a thin Typer front over them.
"""

__version__ = "0.1.0"
