"""The recognizer engines, by name (light: the command line reads it without loading any)."""

ENGINES = ("vosk", "whisper", "pocketsphinx")
