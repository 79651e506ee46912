"""nl2en's speed benchmark (``bench/bench.py``), one module per section; see ``bench/README.md``."""
