"""Typed settings from the environment and an optional TOML file.

Precedence: environment variable, then ``NUNIS_CONFIG_FILE`` (TOML, keys are the
setting names below in lower case without the prefix, e.g. ``lookback_days = 7``),
then the default. A bad value raises ``ConfigError`` naming the key and the fix; the
value of a secret is never echoed.

Stdlib only on purpose: this module is imported on every cold start of the function,
and pydantic-settings alone costs ~0.4 s of import time there (measured with
``python -X importtime``) for fifteen keys.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nunis_ingest.errors import ConfigError

DEFAULT_STRAVA_BASE_URL = "https://www.strava.com"


@dataclass(frozen=True)
class Setting:
    key: str  # environment variable
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False


def _int_range(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text.strip())
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


def _float_range(lo: float, hi: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text.strip())
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi}")
        return value

    return parse


def _choice(*options: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = text.strip().lower()
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}")
        return value

    return parse


def _url(text: str) -> str:
    value = text.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _text(text: str) -> str:
    value = text.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("must be true or false")


def _path_segment(text: str) -> str:
    value = text.strip().strip("/")
    if not re.fullmatch(r"[A-Za-z0-9_-]{16,128}", value):
        raise ValueError("must be 16-128 letters, digits, '-' or '_'")
    return value


def _path(text: str) -> Path:
    return Path(_text(text)).expanduser()


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("NUNIS_BACKEND", _choice("local", "gcp"), "local", "local or gcp"),
        Setting("NUNIS_DATA_DIR", _path, Path("data"), "local folder for config, tokens, archive"),
        Setting("NUNIS_DUCKDB_PATH", _path, None, "DuckDB file (default <data dir>/nunis.duckdb)"),
        Setting(
            "NUNIS_DUCKDB_LOCK_WAIT_SECONDS",
            _float_range(0, 3600),
            30.0,
            "longest wait for another process's lock on the DuckDB file",
        ),
        Setting("NUNIS_STRAVA_BASE_URL", _url, DEFAULT_STRAVA_BASE_URL, "Strava base URL"),
        Setting("STRAVA_CLIENT_ID", _text, None, "your Strava API application's client id"),
        Setting("STRAVA_CLIENT_SECRET", _text, None, "its client secret", secret=True),
        Setting("NUNIS_BUCKET", _text, None, "Cloud Storage bucket (gcp backend)"),
        Setting("NUNIS_DATASET", _text, None, "BigQuery dataset (gcp backend)"),
        Setting("NUNIS_PROJECT", _text, None, "Google Cloud project (default: the environment's)"),
        Setting("NUNIS_BQ_LOCATION", _text, None, "BigQuery location, e.g. EU or US"),
        Setting("NUNIS_LOOKBACK_DAYS", _int_range(0, 365), 7, "overlap window of mode new"),
        Setting("NUNIS_MAX_DELETE_SHARE", _float_range(0.0, 1.0), 0.5, "mass-delete guard"),
        Setting("NUNIS_TIME_BUDGET_SECONDS", _float_range(10, 3600), 480.0, "stop and checkpoint"),
        Setting("NUNIS_MAX_MESSAGE_AGE_SECONDS", _float_range(60, 7 * 86400), 86400.0, "stale"),
        Setting("NUNIS_READ_HEADROOM_15MIN", _int_range(0, 1000), 10, "15-min reads left unused"),
        Setting("NUNIS_READ_HEADROOM_DAILY", _int_range(0, 10000), 100, "daily reads left unused"),
        Setting(
            "NUNIS_ENRICH_READ_SHARE",
            _float_range(0.0, 1.0),
            0.5,
            "share of the read limits enrichment may use (details, streams)",
        ),
        Setting("NUNIS_HTTP_TIMEOUT_SECONDS", _float_range(1, 300), 30.0, "per Strava request"),
        Setting("NUNIS_LOG_FORMAT", _choice("console", "json"), None, "default: json on gcp"),
        Setting(
            "NUNIS_WEBHOOK_VERIFY_TOKEN",
            _text,
            None,
            "the secret Strava echoes in the subscription handshake",
            secret=True,
        ),
        Setting(
            "NUNIS_WEBHOOK_PATH_SECRET",
            _path_segment,
            None,
            "the secret path segment of the callback URL (others are answered 404)",
            secret=True,
        ),
        Setting(
            "NUNIS_WEBHOOK_SUBSCRIPTION_ID",
            _int_range(1, 2**63 - 1),
            None,
            "our push subscription id (default: webhook/subscription.json in the store)",
        ),
        Setting("NUNIS_PURGE_ON_DEAUTH", _bool, True, "delete a revoked athlete's data"),
        Setting("NUNIS_EVENTS_TOPIC", _text, None, "Pub/Sub topic for webhook events (gcp)"),
        Setting("NUNIS_EVENTS_SUBSCRIPTION", _text, None, "pull subscription of the events topic"),
        Setting(
            "NUNIS_INGEST_TOPIC",
            _text,
            None,
            "the function's own trigger topic: a message naming no athlete fans out on it",
        ),
        Setting("NUNIS_RECONCILE_NEW_HOURS", _float_range(0, 24 * 30), 24.0, "slow new poll"),
        Setting("NUNIS_RECONCILE_ALL_HOURS", _float_range(0, 24 * 90), 168.0, "slow all poll"),
        Setting("NUNIS_WEBHOOK_COALESCE_SECONDS", _float_range(0, 60), 0.5, "event burst window"),
        Setting(
            "NUNIS_WEBHOOK_ENQUEUE_TIMEOUT_SECONDS",
            _float_range(0.05, 1.8),
            1.0,
            "longest wait for the queue before answering 503",
        ),
        Setting("NUNIS_ONBOARD_SECRET", _text, None, "signs onboarding states", secret=True),
        Setting("NUNIS_ONBOARD_URL", _url, None, "public URL of the onboarding page"),
    )
}


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with ``load_settings()``; tests pass a dict."""

    backend: str = "local"
    data_dir: Path = Path("data")
    duckdb_path: Path | None = None
    duckdb_lock_wait_seconds: float = 30.0
    strava_base_url: str = DEFAULT_STRAVA_BASE_URL
    strava_client_id: str | None = None
    strava_client_secret: str | None = field(default=None, repr=False)
    bucket: str | None = None
    dataset: str | None = None
    project: str | None = None
    bq_location: str | None = None
    lookback_days: int = 7
    max_delete_share: float = 0.5
    time_budget_seconds: float = 480.0
    max_message_age_seconds: float = 86400.0
    read_headroom_15min: int = 10
    read_headroom_daily: int = 100
    enrich_read_share: float = 0.5
    http_timeout_seconds: float = 30.0
    log_format: str | None = None
    webhook_verify_token: str | None = field(default=None, repr=False)
    webhook_path_secret: str | None = field(default=None, repr=False)
    webhook_subscription_id: int | None = None
    purge_on_deauth: bool = True
    events_topic: str | None = None
    events_subscription: str | None = None
    ingest_topic: str | None = None
    reconcile_new_hours: float = 24.0
    reconcile_all_hours: float = 168.0
    webhook_coalesce_seconds: float = 0.5
    webhook_enqueue_timeout_seconds: float = 1.0
    onboard_secret: str | None = field(default=None, repr=False)
    onboard_url: str | None = None

    @property
    def duckdb_file(self) -> Path:
        return self.duckdb_path or self.data_dir / "nunis.duckdb"

    @property
    def effective_log_format(self) -> str:
        return self.log_format or ("json" if self.backend == "gcp" else "console")

    def require_strava_app(self) -> tuple[str, str]:
        """The app's client id and secret, or a ConfigError saying where to get them."""
        missing = [
            key
            for key, value in (
                ("STRAVA_CLIENT_ID", self.strava_client_id),
                ("STRAVA_CLIENT_SECRET", self.strava_client_secret),
            )
            if not value
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set.",
                action="copy them from https://www.strava.com/settings/api into the "
                "environment (or Secret Manager on Google Cloud).",
            )
        return str(self.strava_client_id), str(self.strava_client_secret)

    def require_gcp(self) -> tuple[str, str]:
        missing = [
            k for k, v in (("NUNIS_BUCKET", self.bucket), ("NUNIS_DATASET", self.dataset)) if not v
        ]
        if missing:
            raise ConfigError(
                f"NUNIS_BACKEND=gcp needs {' and '.join(missing)}.",
                action="set them to your bucket name and BigQuery dataset "
                "(see deployment-guide.md, step 3).",
            )
        return str(self.bucket), str(self.dataset)


def _attr(key: str) -> str:
    return key.removeprefix("NUNIS_").lower()


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``env`` (default ``os.environ``) and ``NUNIS_CONFIG_FILE``."""
    env = os.environ if env is None else env
    file_values = _read_config_file(env.get("NUNIS_CONFIG_FILE"))
    values: dict[str, Any] = {}
    for key, setting in SETTINGS.items():
        raw: object = env.get(key)
        source = "environment variable"
        if raw is None or raw == "":
            raw = file_values.get(_attr(key))
            source = "config file key"
        if raw is None or raw == "":
            continue
        try:
            values[_attr(key)] = setting.parse(str(raw))
        except ValueError as exc:
            shown = "" if setting.secret else f" (got {str(raw)[:60]!r})"
            where = (
                key if source == "environment variable" else f"{_attr(key)} in NUNIS_CONFIG_FILE"
            )
            raise ConfigError(
                f"Invalid setting {where}{shown}: {exc}.",
                action=f"set {key} to {setting.help}.",
            ) from None
    return Settings(**values)


def _read_config_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"NUNIS_CONFIG_FILE points to {path!r}, which does not exist.",
            action="fix the path or unset NUNIS_CONFIG_FILE.",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"NUNIS_CONFIG_FILE {path!r} is not valid TOML: {exc}.",
            action="see config/nunis.example.toml for the format.",
        ) from None
    known = {_attr(k) for k in SETTINGS}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"NUNIS_CONFIG_FILE {path!r} has unknown keys: {', '.join(unknown)}.",
            action=f"use only: {', '.join(sorted(known))}.",
        )
    return data
