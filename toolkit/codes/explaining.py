"""One readable verdict per call: :func:`classify`, :func:`explain` and :func:`explain_push`.

Accepted inputs (all plain mappings, so a :class:`toolkit.record.Record` works too):

- a CDR as the platform pushes it (FeeInfo, camelCase: ``ulFailReason``, ``fwdAnswerTime``, ...);
- a CDR row from the store (snake_case: ``ul_fail_reason``, ``fwd_answer_time``, ...);
- a ``disconnect`` call event (``{"eventType": "disconnect", "statusInfo": {...}}``) or just its
  ``statusInfo`` (recognised by ``stateCode``);
- a fee push body with exactly one CDR (use :func:`explain_push` for any push body).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import schema
from ..errors import ValidationError
from .decoding import CodeInfo, decode
from .outcomes import OUTCOME_LABELS
from .rules import combine, verdict

# Generic advice when the table row has no action of its own (our suggestion, not the spec's).
_CATEGORY_ACTION = {
    "caller-abandon": "Nothing to fix: the caller gave up",
    "callee-busy": "Nothing to fix on the platform; try the callee again later",
    "no-answer": "Nothing to fix on the platform; try the callee again later",
    "callee-reject": "Nothing to fix on the platform; the callee declined",
    "callee-unreachable": "Nothing to fix on the platform; try the callee again later",
    "number": "Check the number",
    "binding": "Check the binding for this number",
    "tenant-config": "Check the app and account configuration",
    "control": "Slow down, or ask support which control blocked the call",
    "platform": "Retry; contact Huawei support if it keeps happening",
    "network": "Retry; contact Huawei support if it keeps happening",
    "protocol": "Retry; contact Huawei support if it keeps happening",
}

# (label in text, platform field, store column)
_RELEASE = ("release", "ulFailReason", "ul_fail_reason")
_STATE = ("stateCode", "stateCode", "state_code")
_Q850 = ("Q.850", "fwdUnaswRsn", "fwd_unasw_rsn")
_SIP = ("SIP", "sipStatusCode", "sip_status_code")


@dataclass(frozen=True)
class Explanation:
    """The verdict on one call.

    ``driver`` names the field that decided (``"ulFailReason"``, ``"stateCode"``,
    ``"fwdUnaswRsn"``, ``"sipStatusCode"``, ``"fwdAnswerTime"``) or is None when nothing did;
    ``disagreeing`` names the fields that pointed to a different outcome.
    """

    text: str
    outcome: str
    category: str
    actor: str
    action: str
    driver: str | None
    codes: tuple[CodeInfo, ...] = ()
    disagreeing: tuple[str, ...] = ()

    def __str__(self) -> str:
        return self.text


def classify(cdr: Mapping[str, Any], product: str | None = None) -> str:
    """The outcome (one of :data:`toolkit.codes.OUTCOMES`) of one CDR or disconnect event."""
    return explain(cdr, product).outcome


def explain(cdr_or_event: Mapping[str, Any], product: str | None = None) -> Explanation:
    """Explain one CDR or disconnect event; ``product`` defaults to the record's own ``product``
    field (store rows carry one) and then to "privatenumber"."""
    record = _unwrap(cdr_or_event)
    product = product or str(_get(record, "product", "product") or "privatenumber")
    prefix = "vc" if product == "voicecall" else "pn"
    is_event = "stateCode" in record or "state_code" in record
    if is_event:
        release = decode(_get(record, "stateCode", "state_code"), f"{prefix}_state")
        q850 = decode(None, "q850")
        sip = decode(None, "sip")
        answered = False
        labels = {"release": _STATE}
    else:
        release = decode(_get(record, "ulFailReason", "ul_fail_reason"), f"{prefix}_release")
        q850 = decode(_get(record, "fwdUnaswRsn", "fwd_unasw_rsn"), "q850")
        sip = decode(_get(record, "sipStatusCode", "sip_status_code"), "sip")
        # fwdAnswerTime, or callOutAnswerTime on a one-leg VoiceCall CDR: the schema's rule.
        answered = schema.answer_present(record, product)
        labels = {"release": _RELEASE}
    labels |= {"q850": _Q850, "sip": _SIP}
    infos = {"release": release, "q850": q850, "sip": sip}
    verdicts = {name: verdict(info) for name, info in infos.items()}
    outcome, driver = combine(verdicts["release"], verdicts["q850"], verdicts["sip"], answered)

    disagreeing = [
        name
        for name, v in verdicts.items()
        # a deferring code (fallback only) steps aside by design, so it never "disagrees"
        if name != driver and v.primary not in (None, outcome)
    ]
    no_binding = release.code == 8014 and not _get(record, "subscriptionId", "subscription_id")
    headline, source = _headline(outcome, driver, infos, no_binding, answered)
    text = headline + _details(infos, labels, no_binding)
    if disagreeing and driver != "none":
        field = "fwdAnswerTime" if driver == "answer" else labels[driver][1]
        others = ", ".join(
            f"{labels[n][1]} {infos[n].code} suggests "
            f"{OUTCOME_LABELS[verdicts[n].primary or 'error']}"
            for n in disagreeing
        )
        text += f"; decided by {field} ({others})"
    action = source.action or _CATEGORY_ACTION.get(source.category, "")
    if driver == "none":
        action = "Look at the raw CDR: no code explains why the call failed"
    return Explanation(
        text=text,
        outcome=outcome,
        category=source.category if source.known else "",
        actor=source.actor if source.known else "",
        action=action,
        driver=None
        if driver == "none"
        else ("fwdAnswerTime" if driver == "answer" else labels[driver][1]),
        codes=(release, q850, sip),
        disagreeing=tuple(labels[n][1] for n in disagreeing),
    )


def explain_push(body: object, product: str | None = None) -> list[Explanation]:
    """Explain every call in a push body: a fee push (``feeLst``), one call event, one CDR, or a
    list of any of these. Other call events (callin, answer...) carry no verdict and are skipped."""
    return [explain(record, product) for record in call_records(body)]


def call_records(body: object) -> list[Mapping[str, Any]]:
    """The records :func:`explain_push` explains, in its order: each CDR of a fee push, a
    disconnect event or bare CDR as given (other call events are left out)."""
    if isinstance(body, list):
        return [r for item in body for r in call_records(item)]
    if not isinstance(body, Mapping):
        return []
    fees = body.get("feeLst")
    if isinstance(fees, list):
        return [fee for fee in fees if isinstance(fee, Mapping)]
    event = body.get("eventType")
    if event is not None and event != "disconnect":
        return []
    return [body]


def _unwrap(item: Mapping[str, Any]) -> Mapping[str, Any]:
    status = item.get("statusInfo")
    if isinstance(status, Mapping):
        return status
    fees = item.get("feeLst")
    if isinstance(fees, list):
        if len(fees) != 1 or not isinstance(fees[0], Mapping):
            raise ValidationError(
                "cdr_or_event", "a fee push with several CDRs: use explain_push() to explain each"
            )
        return fees[0]
    return item


def _get(record: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = record.get(camel)
    return record.get(snake) if value is None else value


def _headline(
    outcome: str, driver: str, infos: dict[str, CodeInfo], no_binding: bool, answered: bool
) -> tuple[str, CodeInfo]:
    release = infos["release"]
    if outcome == "answered":
        if release.code == 8010:
            return "Answered, then cut at the maximum call duration", release
        if answered or release.category == "normal":
            return "Answered, then ended normally", decode(0, release.family)
    if driver == "none":
        return "Not answered, and no code explains why", CodeInfo("", None, None, False, "")
    source = infos[driver if driver in infos else "release"]
    if no_binding:
        return "No binding for this call", source
    return source.meaning[:1].upper() + source.meaning[1:], source


def _details(
    infos: dict[str, CodeInfo], labels: dict[str, tuple[str, str, str]], no_binding: bool
) -> str:
    parts = []
    for name, info in infos.items():
        if not info.applicable or (name != "release" and info.code == 0):
            continue  # Q.850 0 and SIP 0 mean "no failure": not worth printing
        code = info.code if info.code is not None else info.raw
        label = labels[name][0]
        if not info.known:
            parts.append(f"{label} {code} unknown")
        elif name == "q850":
            parts.append(f"{label} {code} {info.meaning}")
        else:
            parts.append(f"{label} {code}")
        if name == "release" and no_binding:
            parts.append("empty subscriptionId")
    return f" ({', '.join(parts)})" if parts else ""


__all__ = ["Explanation", "classify", "explain", "explain_push"]
