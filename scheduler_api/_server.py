"""``scheduler_api.run(config_file)``: serve the API with uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
from pathlib import Path

import uvicorn
from prometheus_client import disable_created_metrics

from scheduler_api._app import create_app
from scheduler_api._settings import ConfigError, load_settings
from scheduler_api._store import StoreError
from scheduler_api._tls import server_options

__all__ = ["run"]

log = logging.getLogger(__name__)


def run(config_file: Path | None) -> None:
    """Serve the scheduler API as configured in section ``api`` of ``config_file``.

    Blocks until SIGINT or SIGTERM (uvicorn handles both and shuts down gracefully).

    Raises:
        ConfigError: a setting is invalid or a token file is unreadable (names the key).
    """
    settings = load_settings(config_file)
    # Process-wide, so here rather than at import: `_created` series only add noise.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    try:
        app = create_app(settings)
    except StoreError as err:
        raise ConfigError(str(err)) from err
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        **server_options(settings),
    )
    log.info("scheduler API on %s", settings.listen)
    uvicorn.Server(config).run()
