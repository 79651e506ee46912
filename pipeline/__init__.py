"""nl2en: Dutch→English translation and summarisation of news articles.

Packages by stage, each importing only the layers below it (``tests/test_architecture.py``
checks this; ``docs/architecture.md`` explains it):

``cli`` → ``evaluation`` → ``runs`` → ``translation`` | ``summaries`` → ``quality`` →
``engines`` → ``models`` | ``text`` → base modules (``errors``, ``signature``, ``locations``).
"""
