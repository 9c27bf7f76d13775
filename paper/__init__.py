"""The reproduction of the paper: :func:`paper.generate.generate` (``derelay paper``)
writes ``figures/``, ``REPRODUCTION.md`` and ``reproduction.json`` here."""
