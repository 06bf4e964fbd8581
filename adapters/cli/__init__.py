"""The ``expctl`` command: the inbound CLI adapter (sync at the edge, async inside)."""
