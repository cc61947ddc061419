"""The gateway's settings, from its container's environment (components.eks_model sets them).

Every problem is reported at once, naming the variable; the entry point exits 2 on them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from lifecycle.attribution import MalformedInferenceId, inference_id


class SettingsError(ValueError):
    """The environment does not configure a gateway; the message names each variable at fault."""


@dataclass(frozen=True)
class GatewaySettings:
    model: str
    version: int
    topic: str
    bootstrap_servers: str
    region: str
    listen_port: int
    upstream_port: int
    metrics_port: int
    queue_size: int
    queue_bytes: int
    flush_seconds: float
    feature_names: tuple[str, ...] = ()


def _int(env: Mapping[str, str], name: str, default: str | None, problems: list[str]) -> int:
    value = env.get(name, default)
    try:
        number = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        problems.append(f"{name}={value!r}: not an integer")
        return 0
    if number <= 0:
        problems.append(f"{name}={value!r}: must be positive")
    return number


def from_environment(env: Mapping[str, str] | None = None) -> GatewaySettings:
    from lifecycle.events.gateway import LISTEN_PORT, METRICS_PORT

    env = os.environ if env is None else env
    problems: list[str] = []
    required = {}
    for name in ("MLPLAT_MODEL", "MLPLAT_EVENTS_TOPIC", "MLPLAT_KAFKA_BOOTSTRAP", "AWS_REGION"):
        required[name] = env.get(name, "").strip()
        if not required[name]:
            problems.append(f"{name} is not set")
    version = _int(env, "MLPLAT_MODEL_VERSION", None, problems)
    if required["MLPLAT_MODEL"] and version > 0:
        try:  # the model's name and version must make attributable inference ids
            inference_id(required["MLPLAT_MODEL"], version)
        except MalformedInferenceId as error:
            problems.append(f"MLPLAT_MODEL/MLPLAT_MODEL_VERSION: {error}")
    flush = env.get("MLPLAT_EVENTS_FLUSH_SECONDS", "10")
    try:
        flush_seconds = float(flush)
    except ValueError:
        flush_seconds = -1.0
    if flush_seconds < 0:
        problems.append(f"MLPLAT_EVENTS_FLUSH_SECONDS={flush!r}: not a non-negative number")
    settings = GatewaySettings(
        model=required["MLPLAT_MODEL"],
        version=version,
        topic=required["MLPLAT_EVENTS_TOPIC"],
        bootstrap_servers=required["MLPLAT_KAFKA_BOOTSTRAP"],
        region=required["AWS_REGION"],
        listen_port=_int(env, "MLPLAT_GATEWAY_PORT", str(LISTEN_PORT), problems),
        upstream_port=_int(env, "MLPLAT_MODEL_PORT", "8080", problems),
        metrics_port=_int(env, "MLPLAT_GATEWAY_METRICS_PORT", str(METRICS_PORT), problems),
        queue_size=_int(env, "MLPLAT_EVENTS_QUEUE", "10000", problems),
        queue_bytes=_int(env, "MLPLAT_EVENTS_QUEUE_BYTES", str(64 * 1024 * 1024), problems),
        flush_seconds=flush_seconds,
        feature_names=tuple(n for n in env.get("MLPLAT_FEATURE_NAMES", "").split(",") if n),
    )
    if problems:
        raise SettingsError("events gateway: " + "; ".join(problems))
    return settings
