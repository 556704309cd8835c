"""The outcomes every CDR is sorted into, with display labels and colours.

This is the one place outcome colours live: charts, widgets and summaries import them from here so
that "busy" is the same orange everywhere. The palette is Okabe-Ito (distinguishable with the
common colour-vision deficiencies) plus a neutral grey for platform errors.
"""

from __future__ import annotations

OUTCOMES: tuple[str, ...] = (
    "answered",
    "busy",
    "no-answer",
    "rejected",
    "unreachable",
    "caller-abandoned",
    "not-bound",
    "throttled",
    "error",
)

OUTCOME_LABELS: dict[str, str] = {
    "answered": "answered",
    "busy": "callee busy",
    "no-answer": "no answer",
    "rejected": "rejected",
    "unreachable": "unreachable (powered off / absent / suspended)",
    "caller-abandoned": "caller abandoned",
    "not-bound": "not bound / config",
    "throttled": "throttled / blocked",
    "error": "platform / network error",
}

OUTCOME_COLORS: dict[str, str] = {
    "answered": "#009E73",  # bluish green
    "busy": "#E69F00",  # orange
    "no-answer": "#56B4E9",  # sky blue
    "rejected": "#D55E00",  # vermillion
    "unreachable": "#CC79A7",  # reddish purple
    "caller-abandoned": "#F0E442",  # yellow
    "not-bound": "#0072B2",  # blue
    "throttled": "#000000",  # black
    "error": "#999999",  # grey
}

# What the spec's category of a failure code means as an outcome. "normal" has no entry: a normal
# release code says nothing about whether the call was answered, so the classifier decides those
# from the answer time (see toolkit.codes.classify). Non-obvious choices:
# - "number" (callee/X number does not exist, Q.850 unallocated/changed) -> unreachable: the dialled
#   party cannot be reached at all, which is what the caller experiences; it is not a binding fault.
# - "binding" and "tenant-config" -> not-bound: both are fixed in the customer's own configuration.
# - "control" (rate limits, blacklists, regulatory blocks) -> throttled ("throttled / blocked").
CATEGORY_OUTCOME: dict[str, str] = {
    "caller-abandon": "caller-abandoned",
    "callee-busy": "busy",
    "no-answer": "no-answer",
    "callee-reject": "rejected",
    "callee-unreachable": "unreachable",
    "number": "unreachable",
    "binding": "not-bound",
    "tenant-config": "not-bound",
    "control": "throttled",
    "platform": "error",
    "network": "error",
    "protocol": "error",
}

__all__ = ["CATEGORY_OUTCOME", "OUTCOMES", "OUTCOME_COLORS", "OUTCOME_LABELS"]
