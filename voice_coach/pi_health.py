"""Raspberry Pi power and heat, from `vcgencmd get_throttled` (where the command exists).

Under-voltage (a weak power supply) makes a Pi slow down and drop USB devices, which the coach
would hear as a dead microphone; heat makes it throttle, so recognition falls behind.
"""

from __future__ import annotations

import shutil
import subprocess

# Bits of get_throttled: now (0-3) and since boot (16-19).
_BITS = {
    0: "under-voltage now", 1: "CPU speed capped now", 2: "throttled now", 3: "soft temperature limit now",
    16: "under-voltage since boot", 17: "CPU speed capped since boot", 18: "throttled since boot",
    19: "soft temperature limit since boot",
}
FIX = "use the official Raspberry Pi power supply (5 V 3 A for a Pi 4, 5 A for a Pi 5) and give the Pi air or a heatsink"


def decode(value: int) -> list[str]:
    return [text for bit, text in _BITS.items() if value & (1 << bit)]


def throttled() -> tuple[bool, str] | None:
    """(ok, text), or None where there is no vcgencmd (not a Pi)."""
    exe = shutil.which("vcgencmd")
    if exe is None:
        return None
    answer = ""
    try:
        r = subprocess.run([exe, "get_throttled"], capture_output=True, text=True, timeout=5)
        answer = (r.stdout or r.stderr).strip()
        value = int(answer.split("=", 1)[1], 16)
    except (subprocess.SubprocessError, OSError, IndexError, ValueError):
        return False, f"vcgencmd get_throttled gave no reading ({answer or 'no output'}); on a Pi: sudo adduser $USER video"
    problems = decode(value)
    if not problems:
        return True, "no under-voltage or throttling since boot (vcgencmd)"
    return False, f"{', '.join(problems)} (0x{value:x}): {FIX}"
