"""Recording files: short, real WAV audio (8 kHz mono 16-bit), made with the stdlib."""

from __future__ import annotations

import io
import math
import struct
import wave

RATE = 8000
# Each tone's samples made so far, by frequency: a sweep downloads hundreds of recordings and
# making a sample costs a Python call each (24,000 for a 3 s file). Eight tones at most.
_TONES: dict[float, bytes] = {}


def tone_wav(rec_id: int, seconds: float = 1.5) -> bytes:
    freq = 350.0 + (rec_id % 8) * 55.0
    frames = int(RATE * seconds)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(_samples(freq, frames))
    return buf.getvalue()


def _samples(freq: float, frames: int) -> bytes:
    """The first ``frames`` samples of the tone: sample i depends on ``freq`` and i alone."""
    made = _TONES.get(freq, b"")
    if len(made) < 2 * frames:
        made = b"".join(
            struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / RATE)))
            for i in range(frames)
        )
        _TONES[freq] = made
    return made[: 2 * frames]
