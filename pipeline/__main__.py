"""``python -m pipeline`` is the same as ``nl2en``."""

from pipeline.cli import main

if __name__ == "__main__":
    main()
