"""FreeBSD domainset policies in the words Linux's numa_maps uses, so a
FreeBSD workload's policy lands in the same `Workload.mempolicy` field."""

from __future__ import annotations

# ds_policy values from sys/sys/domainset.h (DOMAINSET_POLICY_*).
_WORDS: dict[int, str] = {
    1: "interleave",  # round-robin: pages spread over the set, like interleave
    2: "local",  # first-touch: the domain of the CPU that touches the page
    3: "prefer",  # prefer: one domain first, the others when it runs short
    4: "interleave",  # interleave: runs of pages spread over the set
}


def policy_word(ds_policy: int) -> str:
    """numa_maps' word for a domainset policy; "" for a value FreeBSD does not define."""
    return _WORDS.get(ds_policy, "")
