"""PrivateNumber (Privacy Protection Call) client: one method per documented operation, per mode.

::

    client = PrivateNumberClient()                   # settings from PRIVATENUMBER_* / .env
    b = client.axb.bind("138 0013 8000", "139 0013 9000", relation_num="+8617000000003")
    client.axb.unbind(subscription_id=b.subscription_id)

Arguments are the platform's fields in snake_case (``relation_num`` -> ``relationNum``); phone
numbers may be typed any common way and are normalised; every value is checked before anything is
sent. Answers are :class:`~toolkit.record.Record` objects; ``resultcode != "0"`` raises the
matching :class:`~toolkit.errors.ApiError` subclass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import cached_property
from typing import Any

from .bulk import BulkOperations
from .errors import NotFoundError, ValidationError
from .record import Record
from .transport import (
    BaseClient,
    Transport,
    duration_axyb,
    exclusive,
    integer,
    number,
    one_of,
    service_number,
    wire,
)

__all__ = ["AXBMode", "AXEMode", "AXMode", "AXYBMode", "PrivateNumberClient"]

AXB_PATH = "/rest/caas/relationnumber/partners/v1.0"
AX_PATH = "/rest/provision/caas/privatenumber/v1.0"
AX_CALLEE_PATH = "/rest/caas/privatenumber/calleenumber/v1.0"
AXE_PATH = "/rest/caas/extendnumber/v1.0"
AXE_V2_PATH = "/rest/caas/extendnumber/v2.0"
AXYB_PATH = "/rest/omp/xyrelationnumber/v1.0"
FIRST_CURSOR = "0000000000000_0"


class _Mode(BulkOperations):
    """One mode's operations; reached as ``client.axb`` and so on.

    Every mode also has ``bind_many`` and ``unbind_many`` (:mod:`toolkit.bulk`).
    """

    def __init__(self, transport: Transport) -> None:
        self._t = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._t.settings.base_url}>"


class AXBMode(_Mode):
    """AXB: A and B share one privacy number X; each dials X to reach the other."""

    def bind(
        self,
        caller_num: str,
        callee_num: str,
        *,
        relation_num: str | None = None,
        area_code: str | None = None,
        area_match_mode: str | int | None = None,
        call_direction: int | None = None,
        duration: int | None = None,
        max_duration: int | None = None,
        last_min_voice: str | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        private_sms: bool | None = None,
        caller_hint_tone: str | None = None,
        callee_hint_tone: str | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Bind A (``caller_num``) and B (``callee_num``) to an X (AXB-1).

        Give ``relation_num`` (the X), or ``area_code`` to let the platform pick one of that city
        (``area_match_mode=1`` falls back to other cities), or neither (A's city). ``duration`` is
        the binding lifetime in seconds (0 = forever, at most 90 days), ``max_duration`` the
        per-call limit in minutes (0-1440). Returns ``subscription_id`` and ``relation_num``.
        """
        body = wire(locals())
        find = None
        if "relationNum" in body:  # the pair on a named X is unique: a query can recognise it
            find = _finder(
                lambda: self.query(
                    relation_num=body["relationNum"],
                    caller_num=body["callerNum"],
                    callee_num=body["calleeNum"],
                ),
                "relationNumList",
                {"callerNum": body["callerNum"], "calleeNum": body["calleeNum"]},
                {"relationNum": body["relationNum"]},
            )
        expect = ("subscriptionId", "relationNum")
        return self._t.call("POST", AXB_PATH, body=body, expect=expect, reconcile=find)

    def unbind(
        self, subscription_id: str | None = None, *, relation_num: str | None = None
    ) -> Record:
        """Remove a binding by ``subscription_id`` or by X (``relation_num``) (AXB-2)."""
        one_of(subscription_id=subscription_id, relation_num=relation_num)
        return self._t.call("DELETE", AXB_PATH, query=wire(locals()))

    def modify(
        self,
        subscription_id: str,
        *,
        caller_num: str | None = None,
        callee_num: str | None = None,
        call_direction: int | None = None,
        duration: int | None = None,
        max_duration: int | None = None,
        last_min_voice: str | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        private_sms: bool | None = None,
        caller_hint_tone: str | None = None,
        callee_hint_tone: str | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Change a binding (AXB-3); omitted options stay as they are.

        A new ``duration`` restarts the expiry timer from now.
        """
        return self._t.call("PUT", AXB_PATH, body=wire(locals()))

    def query(
        self,
        subscription_id: str | None = None,
        *,
        relation_num: str | None = None,
        caller_num: str | None = None,
        callee_num: str | None = None,
        page_index: int | None = None,
        page_size: int | None = None,
    ) -> Record:
        """Look up bindings (AXB-4): one by ``subscription_id``, or one page of an X's pairs.

        With ``relation_num`` plus ``caller_num`` and/or ``callee_num`` the answer narrows to that
        pair. The page is in ``relation_num_list``; ``total_count`` counts all pairs.
        """
        one_of(subscription_id=subscription_id, relation_num=relation_num)
        return self._t.call("GET", AXB_PATH, query=wire(locals()))

    def iter_bindings(self, relation_num: str, page_size: int = 100) -> Iterator[Record]:
        """Yield every binding on X ``relation_num``, fetching page after page.

        Arguments are checked here, before the first request, not when iteration starts.
        """
        relation_num = number("relation_num", relation_num)
        integer(10, 100)("page_size", page_size)
        return self._pages(relation_num, page_size)

    def _pages(self, relation_num: str, page_size: int) -> Iterator[Record]:
        page_index, seen = 1, 0
        while True:
            try:
                page = self.query(
                    relation_num=relation_num, page_index=page_index, page_size=page_size
                )
            except NotFoundError:
                # The platform answers "record does not exist" (1012007) for an X without pairs.
                return
            items = page.get("relationNumList") or []
            total = page.get("totalCount", 0)
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise self._t.bad_answer(AXB_PATH, "relationNumList is not a list of objects")
            if isinstance(total, bool) or not isinstance(total, int | str):
                raise self._t.bad_answer(AXB_PATH, "totalCount is not a number")
            try:
                total = int(total)
            except ValueError:
                raise self._t.bad_answer(AXB_PATH, "totalCount is not a number") from None
            yield from (Record(item) for item in items)
            seen += len(items)
            if not items or seen >= total:
                return
            page_index += 1


class AXMode(_Mode):
    """AX: X belongs to one A; anyone dialling X reaches A; A calls out to a temporary callee."""

    def bind(
        self,
        orig_num: str,
        *,
        private_num: str | None = None,
        area_code: str | None = None,
        private_num_type: str | None = None,
        area_match_mode: str | int | None = None,
        callee_num_display: str | int | None = None,
        call_direction: int | None = None,
        turn_flag: str | None = None,
        max_duration: int | None = None,
        last_min_voice: str | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        private_sms: bool | None = None,
        caller_hint_tone: str | None = None,
        callee_hint_tone: str | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Give A (``orig_num``) a privacy number (AX-1).

        Name the X with ``private_num``, or give ``area_code`` and the platform picks one
        (``private_num_type`` then defaults to ``"mobile-virtual"``, the only documented value).
        Returns ``subscription_id``, ``orig_num`` and ``private_num``.
        """
        one_of(private_num=private_num, area_code=area_code)
        if area_code is not None and private_num_type is None:
            private_num_type = "mobile-virtual"
        body = wire(locals())
        find = None
        if "privateNum" in body:  # a named X has one A at most: a query can recognise it
            find = _finder(
                lambda: self.query(private_num=body["privateNum"]),
                "privateNumList",
                {"origNum": body["origNum"], "privateNum": body["privateNum"]},
            )
        expect = ("subscriptionId", "origNum", "privateNum")
        return self._t.call("POST", AX_PATH, body=body, expect=expect, reconcile=find)

    def unbind(
        self,
        subscription_id: str | None = None,
        *,
        private_num: str | None = None,
        orig_num: str | None = None,
    ) -> Record:
        """Release an X by ``subscription_id`` or ``private_num`` (AX-2).

        Current docs ignore ``orig_num``; older ones paired it with ``private_num``, so it may be
        sent as well.
        """
        one_of(subscription_id=subscription_id, private_num=private_num)
        return self._t.call("DELETE", AX_PATH, query=wire(locals()))

    def modify(
        self,
        subscription_id: str | None = None,
        *,
        private_num: str | None = None,
        orig_num: str | None = None,
        callee_num_display: str | int | None = None,
        call_direction: int | None = None,
        turn_flag: str | None = None,
        max_duration: int | None = None,
        last_min_voice: str | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        private_sms: bool | None = None,
        caller_hint_tone: str | None = None,
        callee_hint_tone: str | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Change an AX binding found by ``subscription_id`` or ``private_num`` (AX-3)."""
        one_of(subscription_id=subscription_id, private_num=private_num)
        return self._t.call("PUT", AX_PATH, body=wire(locals()))

    def query(
        self,
        subscription_id: str | None = None,
        *,
        orig_num: str | None = None,
        private_num: str | None = None,
    ) -> Record:
        """Find AX bindings (AX-4); with ``orig_num`` all (up to 5) X of that A.

        The bindings are in ``private_num_list``.
        """
        one_of(subscription_id=subscription_id, orig_num=orig_num, private_num=private_num)
        return self._t.call("GET", AX_PATH, query=wire(locals()))

    def set_callee(
        self,
        callee_num: str,
        *,
        subscription_id: str | None = None,
        private_num: str | None = None,
        orig_num: str | None = None,
        duration: int | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Set who A reaches on the next call through X (AX-5, the "temporary callee").

        ``callee_num`` may also be a 400 or 95 service number. ``duration`` is how long the
        setting holds, in seconds (range and default unconfirmed in the spec).
        """
        one_of(subscription_id=subscription_id, private_num=private_num)
        body = wire(locals(), callee_num=service_number)
        return self._t.call("PUT", AX_CALLEE_PATH, body=body)


def _axe_locator(subscription_id: Any, virtual_num: Any, extend_num: Any) -> None:
    if subscription_id is None and (virtual_num is None or extend_num is None):
        raise ValidationError(
            "subscription_id", "give subscription_id, or virtual_num and extend_num"
        )


class AXEMode(_Mode):
    """AXE: X plus an extension E identifies A; callers dial X, then E."""

    def bind(
        self,
        bind_num: str,
        *,
        virtual_num: str | None = None,
        area_code: str | None = None,
        area_match_mode: str | int | None = None,
        extend_num: str | int | None = None,
        display_num_mode: str | int | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        callback_tone: str | None = None,
        callback_num: str | None = None,
        time_unit: str | int | None = None,
        bind_expired_time: int | None = None,
        callback_expired_time: int | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Bind A (``bind_num``) to X (``virtual_num``, or one from ``area_code``) and an extension.

        ``extend_num`` (1-4 digits) is assigned when omitted. When A dials X with nobody to call
        back, the platform plays ``callback_tone`` or forwards to ``callback_num`` (not both).
        ``time_unit`` 0 = hours, 1 = minutes, for the two expiry values. Returns
        ``subscription_id`` (other fields of the answer are unconfirmed in the spec).
        """
        one_of(virtual_num=virtual_num, area_code=area_code)
        exclusive(callback_tone=callback_tone, callback_num=callback_num)
        body = wire(locals())
        find = None
        if "virtualNum" in body and "extendNum" in body:  # X + E is one binding at most
            find = _finder(
                lambda: self.query(virtual_num=body["virtualNum"], extend_num=body["extendNum"]),
                None,
                {"bindNum": body["bindNum"]},
            )
        return self._t.call("POST", AXE_PATH, body=body, expect=("subscriptionId",), reconcile=find)

    def unbind(
        self,
        subscription_id: str | None = None,
        *,
        virtual_num: str | None = None,
        extend_num: str | int | None = None,
    ) -> Record:
        """Remove a binding by ``subscription_id`` or ``virtual_num`` + ``extend_num`` (AXE-2)."""
        _axe_locator(subscription_id, virtual_num, extend_num)
        return self._t.call("DELETE", AXE_PATH, query=wire(locals()))

    def modify(
        self,
        subscription_id: str | None = None,
        *,
        virtual_num: str | None = None,
        extend_num: str | int | None = None,
        display_num_mode: str | int | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        callback_tone: str | None = None,
        callback_num: str | None = None,
        time_unit: str | int | None = None,
        bind_expired_time: int | None = None,
        callback_expired_time: int | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Change a binding located like :meth:`unbind` (AXE-3); omitted options stay."""
        _axe_locator(subscription_id, virtual_num, extend_num)
        exclusive(callback_tone=callback_tone, callback_num=callback_num)
        return self._t.call("PUT", AXE_PATH, body=wire(locals()))

    def query(
        self,
        subscription_id: str | None = None,
        *,
        virtual_num: str | None = None,
        extend_num: str | int | None = None,
    ) -> Record:
        """Read one binding (AXE-4, v1): the answer is the binding itself, not a list."""
        _axe_locator(subscription_id, virtual_num, extend_num)
        return self._t.call("GET", AXE_PATH, query=wire(locals()))

    def query_v2(
        self,
        virtual_num: str | None = None,
        *,
        extend_num: str | int | None = None,
        subscription_id: str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Record:
        """One page of an X's bindings (AXE-5, v2), or one binding with ``extend_num``.

        Start with ``cursor=None`` (the first page, ``0000000000000_0``) and pass
        :meth:`next_cursor` of each answer to get the next. :meth:`iter_bindings` does this loop.
        """
        one_of(virtual_num=virtual_num, subscription_id=subscription_id)
        if cursor is None and subscription_id is None and extend_num is None:
            cursor = FIRST_CURSOR
        return self._t.call("GET", AXE_V2_PATH, query=wire(locals()))

    @staticmethod
    def next_cursor(page: Record) -> str | None:
        """The cursor for the page after ``page``, or ``None`` at the end."""
        # The doc text spells the field "nextCusor" (sic) and its schema is unconfirmed, so we
        # read that spelling and the corrected "nextCursor", whichever is present.
        value = page.get("nextCusor") or page.get("nextCursor")
        return str(value) if value else None

    def iter_bindings(self, virtual_num: str, *, limit: int | None = None) -> Iterator[Record]:
        """Yield every binding on X ``virtual_num``, following the v2 cursor.

        ``limit`` is the page size asked for. Arguments are checked before the first request.
        """
        wire({"virtual_num": virtual_num, "limit": limit})
        return self._pages(virtual_num, limit)

    def _pages(self, virtual_num: str, limit: int | None) -> Iterator[Record]:
        cursor: str | None = FIRST_CURSOR
        while cursor is not None:
            try:
                page = self.query_v2(virtual_num, cursor=cursor, limit=limit)
            except NotFoundError:  # an X without bindings answers "record does not exist"
                return
            items = _page_items(page)
            yield from (Record(item) for item in items)
            following = self.next_cursor(page)
            cursor = following if items and following != cursor else None


def _page_items(page: Record) -> list[Any]:
    # The v2 list field's name is unconfirmed: take the first list of objects in the answer.
    for value in page.values():
        if isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return value
    return []


class AXYBMode(_Mode):
    """AXYB: A and B each get a privacy number (A<->X, B<->Y); bound in two steps.

    Every AXYB request also carries ``app_key`` in the query string, as the API requires.
    ``bind_many`` runs the first step (:meth:`bind_ax`) for each row.
    """

    _bulk_bind = "bind_ax"

    def _send(
        self,
        method: str,
        query: dict[str, Any],
        body: dict[str, Any] | None = None,
        expect: tuple[str, ...] = (),
    ) -> Record:
        query = {**query, "app_key": self._t.settings.app_key}
        return self._t.call(method, AXYB_PATH, query=query, body=body, expect=expect)

    def bind_ax(
        self,
        orig_num: str,
        *,
        area_code: str | None = None,
        area_match_mode: str | int | None = None,
        call_direction: int | None = None,
        duration: int | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        pre_voice_x: dict[str, str] | str | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Step 1: give A (``orig_num``) an X (AXYB-1, AX step).

        ``duration`` is 0 (never expires) or 60-7776000 seconds; the platform default is 7200.
        ``call_direction``: 0 both ways, 1 only A->B via Y, 2 only B->A via X. Returns
        ``subscription_id`` and ``relation_number`` (the X).
        """
        # pre_voice_x's shape (file name or callerHintTone/calleeHintTone object) is unconfirmed;
        # it is passed through as given.
        body = wire(locals(), duration=duration_axyb, pre_voice_x=_passthrough)
        return self._send("POST", {}, body, expect=("subscriptionId", "relationNumber"))

    def bind_yb(
        self,
        subscription_id: str,
        orig_num: str,
        *,
        area_code: str | None = None,
        area_match_mode: str | int | None = None,
        pre_voice_y: dict[str, str] | str | None = None,
        yb_duration: int | None = None,
    ) -> Record:
        """Step 2: give B (``orig_num``) a Y on AX binding ``subscription_id`` (AXYB-1, YB step).

        ``yb_duration`` 0 = as long as the AX binding; larger than its duration is capped.
        Returns ``relation_number`` (the Y).
        """
        body = wire(locals(), pre_voice_y=_passthrough)
        return self._send("POST", {}, body, expect=("relationNumber",))

    def unbind(self, subscription_id: str) -> Record:
        """Remove the AX binding and its YB binding (AXYB-2)."""
        return self._send("DELETE", wire(locals()))

    def unbind_yb(self, *, y_num: str | None = None, b_num: str | None = None) -> Record:
        """Remove only a YB binding, found by the Y number or the B number (AXYB-2)."""
        one_of(y_num=y_num, b_num=b_num)
        return self._send("DELETE", wire(locals()))

    def query(
        self, subscription_id: str | None = None, *, relation_num: str | None = None
    ) -> Record:
        """Find AXYB bindings by ``subscription_id`` or X (AXYB-3); see ``xy_relation_num_list``."""
        one_of(subscription_id=subscription_id, relation_num=relation_num)
        return self._send("GET", wire(locals()))


def _finder(
    query: Callable[[], Record],
    list_field: str | None,
    match: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> Callable[[], Record | None]:
    """The reconciling query of a bind (see :mod:`toolkit.retry`): the binding whose fields
    equal ``match``, found in ``list_field`` of the answer (or the answer itself), as a bind's
    answer would give it (``extra`` adds fields the query's items leave out); ``None`` if absent.
    """

    def find() -> Record | None:
        try:
            answer = query()
        except NotFoundError:
            return None
        items = answer.get(list_field) if list_field else [answer.raw]
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and all(item.get(k) == v for k, v in match.items()):
                return Record({"resultcode": "0", "resultdesc": "Success", **(extra or {}), **item})
        return None

    return find


def _passthrough(name: str, value: Any) -> Any:
    if not isinstance(value, str | dict):
        raise ValidationError(name, "expected a file name or a dict of tone names")
    return value


class PrivateNumberClient(BaseClient):
    """Client for the PrivateNumber REST API.

    ``client.axb``, ``client.ax``, ``client.axe`` and ``client.axyb`` hold each mode's operations;
    :meth:`record_url` and :meth:`stop_call` work for every mode. Configuration: pass ``settings``
    or the individual values; anything missing comes from ``PRIVATENUMBER_*`` environment
    variables or ``.env``. ``session`` may be a ``requests.Session`` with adapters mounted.
    """

    product = "privatenumber"

    @cached_property
    def axb(self) -> AXBMode:
        """AXB operations: bind, unbind, modify, query, iter_bindings."""
        return AXBMode(self._transport)

    @cached_property
    def ax(self) -> AXMode:
        """AX operations: bind, unbind, modify, query, set_callee."""
        return AXMode(self._transport)

    @cached_property
    def axe(self) -> AXEMode:
        """AXE operations: bind, unbind, modify, query, query_v2, iter_bindings."""
        return AXEMode(self._transport)

    @cached_property
    def axyb(self) -> AXYBMode:
        """AXYB operations: bind_ax, bind_yb, unbind, unbind_yb, query."""
        return AXYBMode(self._transport)

    def stop_call(self, session_id: str) -> Record:
        """End a call in progress (C-2), by the ``session_id`` from its call event or CDR."""
        return self._call_stop(session_id)
