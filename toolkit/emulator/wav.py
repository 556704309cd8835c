"""A tiny recording in the platform's format: WAV, G.711 A-law, 8000 Hz, mono (spec §8.1).

The stdlib ``wave`` module writes PCM only, so the RIFF header is written here (format tag 6 =
A-law, with the ``fact`` chunk non-PCM files carry) and the samples are A-law encoded by hand.
"""

from __future__ import annotations

import functools
import math
import struct

RATE = 8000


def alaw(sample: int) -> int:
    """Encode one 16-bit linear sample as an A-law byte (ITU-T G.711)."""
    sign = 0x80 if sample >= 0 else 0x00
    magnitude = min(abs(sample), 32767) >> 3  # 13-bit magnitude
    if magnitude < 32:
        code = magnitude >> 1
    else:
        exponent = magnitude.bit_length() - 5  # 1..7
        code = (exponent << 4) | ((magnitude >> exponent) & 0x0F)
    return (sign | code) ^ 0x55


@functools.lru_cache(maxsize=1)
def recording(seconds: float = 0.5, tone_hz: float = 440.0) -> bytes:
    """A short tone as an A-law WAV file (about 4 KB for half a second)."""
    n = int(RATE * seconds)
    data = bytes(alaw(int(8000 * math.sin(2 * math.pi * tone_hz * i / RATE))) for i in range(n))
    fmt = struct.pack("<HHIIHHH", 6, 1, RATE, RATE, 1, 8, 0)  # A-law, mono, 8 kHz, 8 bit
    fact = struct.pack("<I", n)
    body = (
        b"WAVE"
        + b"fmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"fact"
        + struct.pack("<I", len(fact))
        + fact
        + b"data"
        + struct.pack("<I", len(data))
        + data
        + (b"\0" if n % 2 else b"")
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body
