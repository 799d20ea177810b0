"""One configuration layer for continuum.yaml: the file, the environment, the schema.

Every component loads its sections here, the same way: the YAML file (refused when it holds a
credential that others can read), then ``CONTINUUM_<SECTION>__<KEY>`` environment variables
(nested keys joined by ``__``), checked against the section's type. A key the type does not
have is an error that names it, where it was found and the nearest valid key; a bad value is an
error that names its dotted key::

    from continuum.config import KafkaSettings, load_section
    kafka = load_section(KafkaSettings, "kafka", Path("continuum.yaml"))

    kafka.bootstrap_server: unknown key in continuum.yaml; did you mean `bootstrap_servers`?

Section types are msgspec structs where import cost matters (the agents) and pydantic models
elsewhere; both go through :func:`load_section`. This package imports neither pydantic nor a
role's code until asked. ``continuum config check`` and ``continuum config show`` use
:func:`check_file` and :func:`effective_config`.
"""

from continuum.config._kafka import DEFAULT_PRODUCER_TIMEOUT_MS, KafkaSettings, TopicSettings
from continuum.config._keys import unknown_keys
from continuum.config._listen import check_listen, parse_listen
from continuum.config._load import check_keys, load_section, validate_section
from continuum.config._secret import REDACTED, Secret, holds_secret, is_secret_key, redact
from continuum.config._sections import SECTIONS, Section, check_file, effective_config
from continuum.config._source import (
    ConfigError,
    environment,
    file_section,
    merge,
    read_file,
    section_data,
    state_dir,
)

__all__ = [
    "DEFAULT_PRODUCER_TIMEOUT_MS",
    "REDACTED",
    "SECTIONS",
    "ConfigError",
    "KafkaSettings",
    "Secret",
    "Section",
    "TopicSettings",
    "check_file",
    "check_keys",
    "check_listen",
    "effective_config",
    "environment",
    "file_section",
    "holds_secret",
    "is_secret_key",
    "load_section",
    "merge",
    "parse_listen",
    "read_file",
    "redact",
    "section_data",
    "state_dir",
    "unknown_keys",
    "validate_section",
]
