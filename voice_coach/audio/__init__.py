"""The audio edge: speaking, the microphone, echo cancellation, and their file-backed twins.

Heavy libraries (sounddevice, pyttsx3, livekit) are imported inside the adapters, so importing
this package costs nothing and works on a machine without PortAudio.
"""

from voice_coach.audio.faults import AudioFault

__all__ = ["AudioFault"]
