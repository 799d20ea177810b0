"""The ``continuum`` command line and the local stack supervisor."""

__all__: list[str] = []
