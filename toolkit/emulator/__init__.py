"""A faithful local emulator of Huawei's PrivateNumber and VoiceCall platform.

    from toolkit.emulator import Emulator
    emu = Emulator("axb", fee_url="http://127.0.0.1:8080/fee")
    client = emu.client()                     # in-process; emu.start() also serves HTTP
    binding = client.axb.bind(caller_num="+8613800000001", callee_num="+8613900000002")
    emu.place_call("+8613800000001", binding.relation_num, outcome="busy")

Layout: ``backend`` (state and rules, no HTTP), ``bindings`` (the binding store and helpers the
modes share), ``modes`` (each binding mode's rules: ``axb``, ``ax``, ``axe``, ``axyb``, ``x``),
``calls`` (events and CDRs), ``history`` (the bounded window of remembered calls), ``voice``
(VoiceCall scenarios), ``messaging`` (SMS, number status), ``pushes`` (the protocol the rules push
through), ``delivery`` (signed pushes, retries, batching), ``app`` (WSGI routes over the backend
and the delivery worker), ``adapter`` (in-process requests transport), ``server`` (threaded HTTP
server), ``wsgi`` (the environ and WSGI call both share), ``emulator`` (the facade), ``cli``
(``python -m toolkit emulator``). Imports between them form no circle (``tests/test_imports.py``).
"""

from __future__ import annotations

from .backend import Backend
from .emulator import IN_PROCESS_URL, Emulator, every_mode
from .errors import EmulatorError, PlatformError
from .model import ManualClock

__all__ = [
    "IN_PROCESS_URL",
    "Backend",
    "Emulator",
    "EmulatorError",
    "ManualClock",
    "PlatformError",
    "every_mode",
]
