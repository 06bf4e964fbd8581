"""``python -m adapters.cli``: the same as the ``expctl`` command (used by ``expctl up`` for its children)."""

from adapters.cli.main import main

main()
