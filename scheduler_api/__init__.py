"""The scheduler API: inventory, explainable rankings, data locations, alerts, k8s extender.

Serve it from a config file, or build the app yourself::

    import scheduler_api
    scheduler_api.run(Path("continuum.yaml"))          # blocks until SIGINT/SIGTERM

    app = scheduler_api.create_app(scheduler_api.load_settings(None, token_file=path))

The web stack is imported on first use, so ``scheduler_api.ranking`` stays light for the
placement engine and the simulator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from continuum._lazy import lazy_members

if TYPE_CHECKING:
    from scheduler_api._app import create_app
    from scheduler_api._server import run
    from scheduler_api._settings import ApiSettings, ConfigError, load_settings
    from scheduler_api._views import snapshot_of

__all__ = ["ApiSettings", "ConfigError", "create_app", "load_settings", "run", "snapshot_of"]

_LAZY = {
    "create_app": "scheduler_api._app",
    "run": "scheduler_api._server",
    "ApiSettings": "scheduler_api._settings",
    "ConfigError": "scheduler_api._settings",
    "load_settings": "scheduler_api._settings",
    # A node as the API serves it (GET /v1/nodes) -> the ranking's NodeSnapshot.
    "snapshot_of": "scheduler_api._views",
}


__getattr__ = lazy_members(__name__, _LAZY)
