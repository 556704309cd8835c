"""How the codes of one call combine into one outcome.

The scalar classifier (:mod:`toolkit.codes.explaining`) and the vectorised one
(:mod:`toolkit.codes.vector`) both use :func:`verdict` per table row and mirror :func:`combine`, so
they cannot drift apart (a property test checks that they agree).

The rules, in order:

1. **Answered** (an answer time: ``fwdAnswerTime``, or ``callOutAnswerTime`` on a one-leg VoiceCall
   CDR, see :data:`toolkit.schema.ANSWER_TIME`). The spec defines success as an answer time plus
   ``ulFailReason == 0``; we also count an answered call whose release code is a party hanging
   up or ``8010`` (cut at ``maxDuration`` after talking) as answered, because callee/caller codes
   cannot be true once the callee has picked up. Only a release code that means the platform cut
   the call (control, configuration, platform/network/protocol fault) overrides the answer time.
2. **Not answered**: the first field with a specific verdict wins, in the order the spec's usage
   rule diagnoses failures: release code (``ulFailReason``/``stateCode``), then the Q.850 cause
   (``fwdUnaswRsn``), then the SIP status. Release codes that only say "see the Q.850 cause"
   (:data:`DEFER`) step back behind the other fields and are used only when those say nothing.
3. A normal release code without an answer time is decided by :data:`NORMAL_WITHOUT_ANSWER`.
4. Nothing usable at all: ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .decoding import CodeInfo
from .outcomes import CATEGORY_OUTCOME

# A verdict that overrides an answer time: the platform, not a party, ended the call.
HARD_OUTCOMES = frozenset({"throttled", "not-bound", "error"})

# Codes that decide only when no other field does: release codes whose own text points at the
# Q.850 cause ("remote call failed, see Q.850") or lumps several causes together (VoiceCall 8001:
# frequency control, line fault, off, busy...), and SIP 480, which carriers send both for a callee
# who did not answer (with 8101 / Q.850 19) and for one who is off (with 8104 / Q.850 20).
DEFER: dict[str, frozenset[int]] = {
    "pn_release": frozenset({8002}),
    "pn_state": frozenset(),
    "vc_release": frozenset({518, 519, 520, 521, 8001, 8002}),
    "vc_state": frozenset({8001, 8002}),
    "sip": frozenset({480}),
}

# Normal release codes seen without an answer time. Missing codes/families default to None, which
# falls through to "error".
# - PrivateNumber ulFailReason 0 without fwdAnswerTime contradicts spec section 10.2, so it is not
#   trusted (error); stateCode 0 in a disconnect event is Huawei's own "released after answer".
# - 8010 (maxDuration reached) can only happen to a call that was talking.
# - PrivateNumber 8017 without an answer is the customer's X-mode "close" reply: a configuration
#   decision, hence not-bound ("not bound / config").
# - VoiceCall notify/verify calls have a single leg and no fwdAnswerTime at all (which answer time
#   they carry is unconfirmed in the spec), so every normal VoiceCall code counts as answered.
NORMAL_WITHOUT_ANSWER: dict[str, dict[int, str]] = {
    "pn_release": {8010: "answered", 8017: "not-bound"},
    "pn_state": {0: "answered", 8010: "answered", 8017: "not-bound"},
}
_VOICECALL_FAMILIES = ("vc_release", "vc_state")


@dataclass(frozen=True)
class CodeVerdict:
    """What one code says about the outcome; None means "no opinion"."""

    primary: str | None  # a specific failure outcome
    fallback: str | None  # outcome of a deferring code, used only if nothing else decides
    without_answer: str | None  # outcome of a normal code when there is no answer time


NO_VERDICT = CodeVerdict(None, None, None)


def verdict(info: CodeInfo) -> CodeVerdict:
    """The verdict of one decoded code (release code, Q.850 cause or SIP status)."""
    if not info.known:
        return NO_VERDICT
    if info.category == "normal":
        if info.family in _VOICECALL_FAMILIES:
            return CodeVerdict(None, None, "answered")
        return CodeVerdict(
            None, None, NORMAL_WITHOUT_ANSWER.get(info.family, {}).get(info.code or 0)
        )
    outcome = CATEGORY_OUTCOME.get(info.category)
    if info.code in DEFER.get(info.family, ()):
        return CodeVerdict(None, outcome, None)
    return CodeVerdict(outcome, None, None)


def combine(
    release: CodeVerdict, q850: CodeVerdict, sip: CodeVerdict, answered: bool
) -> tuple[str, str]:
    """Combine the verdicts of one call into ``(outcome, driver)``.

    ``driver`` is which input decided: "answer", "release", "q850", "sip" or "none".
    """
    if answered:
        if release.primary in HARD_OUTCOMES:
            return release.primary, "release"
        return "answered", "answer"
    for driver, item in (("release", release), ("q850", q850), ("sip", sip)):
        if item.primary is not None:
            return item.primary, driver
    for driver, item in (("release", release), ("q850", q850), ("sip", sip)):
        if item.fallback is not None:
            return item.fallback, driver
    if release.without_answer is not None:
        return release.without_answer, "release"
    return "error", "none"
