"""Which EKS Kubernetes versions are past standard support, and so billed at the extended rate.

A minor version gets 14 months of standard support from its EKS release, then 12 months of
extended support at a higher per-cluster-hour price (enabled by default). Dates transcribed on
2026-11-28 from https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html
(cross-checked with https://endoflife.date/amazon-eks). Update this table when EKS releases a
version; a version newer than the newest one here is treated as in standard support.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

STANDARD_SUPPORT_ENDS: dict[str, dt.date] = {
    "1.23": dt.date(2023, 10, 11),
    "1.24": dt.date(2024, 1, 31),
    "1.25": dt.date(2024, 5, 1),
    "1.26": dt.date(2024, 6, 11),
    "1.27": dt.date(2024, 7, 24),
    "1.28": dt.date(2024, 11, 26),
    "1.29": dt.date(2025, 3, 23),
    "1.30": dt.date(2025, 7, 23),
    "1.31": dt.date(2025, 11, 26),
    "1.32": dt.date(2026, 3, 23),
    "1.33": dt.date(2026, 7, 29),
    "1.34": dt.date(2026, 12, 2),
    "1.35": dt.date(2027, 3, 27),
}


class SupportTier(StrEnum):
    STANDARD = "standard"
    EXTENDED = "extended"


def _minor(version: str) -> tuple[int, int]:
    try:
        major, minor = version.split(".")[:2]
        return int(major), int(minor)
    except ValueError:
        raise ValueError(f"{version!r} is not a Kubernetes minor version such as '1.33'") from None


def support_tier(
    version: str | None, as_of: dt.date, support_type: str | None = None
) -> tuple[SupportTier, str]:
    """The tier a cluster of this version is billed at on ``as_of``, and why.

    ``support_type`` is the cluster's ``upgradePolicy.supportType``: with ``STANDARD`` EKS
    upgrades the cluster when standard support ends, so it is never billed for extended support.
    """
    if version is None:
        return SupportTier.STANDARD, "version not set: EKS creates its default, in standard support"
    key = "{}.{}".format(*_minor(str(version)))
    ends = STANDARD_SUPPORT_ENDS.get(key)
    if ends is None:
        newest = max(STANDARD_SUPPORT_ENDS, key=_minor)
        if _minor(key) > _minor(newest):
            return SupportTier.STANDARD, f"{key} is newer than {newest}: standard support assumed"
        return SupportTier.EXTENDED, f"{key} is older than every version EKS still supports"
    if as_of <= ends:
        return SupportTier.STANDARD, f"{key} standard support until {ends}"
    if (support_type or "").upper() == "STANDARD":
        return SupportTier.STANDARD, (
            f"{key} standard support ended {ends}, but upgradePolicy STANDARD auto-upgrades it"
        )
    return SupportTier.EXTENDED, f"{key} standard support ended {ends}: extended support"
