"""VoiceCall client: voice callback, voice notification, voice verification code, stopping a call.

::

    voice = VoiceClient()                            # settings from VOICECALL_* / .env
    voice.click2call("+8613800138000", "+8613900139000", display_nbr="+8675528000001")
    voice.call_notify("+8613900139000", Segment.tts("T1", "1234"), display_nbr="+8675528000001")

Same conventions as :class:`~toolkit.client.PrivateNumberClient`: snake_case versions of the
platform's fields, numbers normalised, values checked before sending, :class:`Record` answers.
Display numbers must be fixed-line numbers issued to your app. ``status_url``/``fee_url`` are
given as plain URLs; the client Base64-encodes them as the platform requires.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ValidationError
from .record import Record
from .transport import BaseClient, integer, text, wire

__all__ = ["Segment", "VoiceClient"]

CLICK2CALL_PATH = "/rest/httpsessions/click2Call/v2.0"
CALLNOTIFY_PATH = "/rest/httpsessions/callnotify/v2.0"
CALLVERIFY_PATH = "/rest/httpsessions/callVerify/v1.0"
MAX_SEGMENTS = 5
# Every scenario call answers the call's sessionId; without it the call cannot be stopped or
# matched to its pushes, so an answer without one is an error.
_SESSION = ("sessionId",)


@dataclass(frozen=True)
class Segment:
    """One part of a voice notification: an audio file or a TTS template, then optional digits.

    Build it with :meth:`voice` or :meth:`tts`. ``collect_ind`` (1-32) collects that many DTMF
    digits after the segment (they arrive in a ``collectInfo`` push); ``replay_on`` replays the
    segment when the collected digits equal it.
    """

    notify_voice: str | None = None
    template_id: str | None = None
    template_paras: tuple[str, ...] = field(default=())
    collect_ind: int = 0
    replay_on: str | None = None

    @classmethod
    def voice(cls, file_name: str, *, collect: int = 0, replay_on: str | None = None) -> Segment:
        """Play an approved audio file, e.g. ``Segment.voice("notice.wav")``."""
        return cls(notify_voice=file_name, collect_ind=collect, replay_on=replay_on)

    @classmethod
    def tts(
        cls, template_id: str, *paras: str, collect: int = 0, replay_on: str | None = None
    ) -> Segment:
        """Speak an approved TTS template with its variables, e.g. ``Segment.tts("T1", "1234")``."""
        return cls(
            template_id=template_id, template_paras=paras, collect_ind=collect, replay_on=replay_on
        )

    def to_wire(self, param: str = "play") -> dict[str, Any]:
        """Check the segment and return it as a ``PlayContentInfo`` object."""
        if (self.notify_voice is None) == (self.template_id is None):
            raise ValidationError(
                param, "each segment needs exactly one of a voice file or a template"
            )
        item = wire({"notify_voice": self.notify_voice, "template_id": self.template_id})
        if self.template_id is not None:
            item["templateParas"] = [_template_value(param, v) for v in self.template_paras]
        elif self.template_paras:
            raise ValidationError(param, "template values need a template, not a voice file")
        item["collectInd"] = integer(0, 32)("collect_ind", self.collect_ind)
        if self.replay_on is not None:
            if not self.collect_ind:
                raise ValidationError("replay_on", "replaying needs digit collection (collect)")
            item["replayAfterCollection"] = "true"
            item["collectContentTriggerReplaying"] = text("replay_on", self.replay_on, 32)
        return item


def _template_value(param: str, value: object) -> str:
    # Each template variable holds at most 32 bytes of UTF-8 (a Chinese character counts 3).
    if not isinstance(value, str):
        raise ValidationError(param, f"template values must be strings, got {value!r}")
    if len(value.encode()) > 32:
        raise ValidationError(param, f"template value {value!r} is longer than 32 bytes")
    return value


def _play_info_list(name: str, play: Any) -> list[dict[str, Any]]:
    segments = [play] if isinstance(play, Segment | str) else list(play)
    if not 1 <= len(segments) <= MAX_SEGMENTS:
        raise ValidationError(name, f"give 1-{MAX_SEGMENTS} segments, got {len(segments)}")
    for s in segments:
        if not isinstance(s, Segment | str):
            raise ValidationError(name, f"segments are Segment objects or file names, not {s!r}")
    return [(Segment.voice(s) if isinstance(s, str) else s).to_wire(name) for s in segments]


def _verify_code(name: str, value: Any) -> str:
    if not (isinstance(value, str) and value.isascii() and value.isdigit()):
        raise ValidationError(name, f"must be a string of digits, got {value!r}")
    if not 2 <= len(value) <= 8:
        raise ValidationError(name, f"must be 2-8 digits long, got {len(value)}")
    return value


class VoiceClient(BaseClient):
    """Client for the VoiceCall REST API (settings from ``VOICECALL_*`` variables or ``.env``).

    Constructor arguments are those of :class:`~toolkit.client.PrivateNumberClient`.
    """

    product = "voicecall"

    def click2call(
        self,
        caller_nbr: str,
        callee_nbr: str,
        *,
        display_nbr: str,
        display_callee_nbr: str | None = None,
        max_duration: int | None = None,
        last_min_voice: str | None = None,
        last_min_to_ue: str | None = None,
        play_pre_voice: bool | None = None,
        pre_voice: str | None = None,
        wait_voice: str | None = None,
        callee_media: str | None = None,
        status_url: str | None = None,
        fee_url: str | None = None,
        record_flag: bool | None = None,
        record_hint_tone: str | None = None,
        party_type_required_in_disconnect: bool | None = None,
        return_idle_port: bool | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Voice callback: call A (``caller_nbr``), then B (``callee_nbr``), and bridge them.

        A sees ``display_nbr``; B sees ``display_callee_nbr`` (default: the same number).
        ``max_duration`` limits the talk in minutes (0-1440), ``last_min_to_ue`` is
        ``toa``/``tob``/``both``, ``callee_media`` ``all``/``none``/``fail``. Returns
        ``session_id``.
        """
        if display_callee_nbr is None:
            display_callee_nbr = display_nbr
        body = wire(locals())
        return self._transport.call("POST", CLICK2CALL_PATH, body=body, expect=_SESSION)

    def call_notify(
        self,
        callee_nbr: str,
        play: Segment | str | Sequence[Segment | str],
        *,
        display_nbr: str,
        status_url: str | None = None,
        fee_url: str | None = None,
        return_idle_port: bool | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Voice notification: call ``callee_nbr`` and play up to 5 segments.

        ``play`` is a :class:`Segment`, an audio file name, or a list of them, e.g.
        ``[Segment.tts("T1", "0930"), Segment.voice("menu.wav", collect=1)]``. Returns
        ``session_id``.
        """
        body = wire(locals(), play=_play_info_list)
        body["playInfoList"] = body.pop("play")
        return self._transport.call("POST", CALLNOTIFY_PATH, body=body, expect=_SESSION)

    def call_verify(
        self,
        callee_nbr: str,
        verify_code: str,
        *,
        display_nbr: str,
        pre_tone: str,
        pos_tone: str | None = None,
        times: int | None = None,
        language_type: int = 2,
        status_url: str | None = None,
        fee_url: str | None = None,
        return_idle_port: bool | None = None,
        user_data: str | None = None,
    ) -> Record:
        """Voice verification code: call ``callee_nbr`` and speak ``verify_code`` (2-8 digits).

        ``pre_tone`` plays before the code, ``pos_tone`` after it; ``times`` repeats the code
        (0-9, 0 = until hang-up; platform default 3). ``language_type`` 2 is Chinese, the only
        documented value. Returns ``session_id``.
        """
        body = wire(locals(), verify_code=_verify_code)
        return self._transport.call("POST", CALLVERIFY_PATH, body=body, expect=_SESSION)

    def stop_call(self, session_id: str) -> Record:
        """End a call in progress, by the ``session_id`` a scenario call returned."""
        return self._call_stop(session_id)

    def call_stop(self, session_id: str) -> Record:
        """Deprecated name of :meth:`stop_call` (the name :class:`PrivateNumberClient` uses)."""
        warnings.warn(
            "VoiceClient.call_stop is deprecated and will be removed in the next release; "
            "use VoiceClient.stop_call",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.stop_call(session_id)
