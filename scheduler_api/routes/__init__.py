"""One router module per resource; the app factory mounts them (see ``scheduler_api._app``)."""

__all__: list[str] = []
