"""Recording files: short, real WAV audio (8 kHz mono 16-bit), made with the stdlib."""

from __future__ import annotations

import io
import math
import struct
import wave


def tone_wav(rec_id: int, seconds: float = 1.5) -> bytes:
    rate = 8000
    freq = 350.0 + (rec_id % 8) * 55.0
    frames = int(rate * seconds)
    samples = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(frames)
    )
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples)
    return buf.getvalue()
