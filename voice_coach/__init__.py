"""voice_coach: an offline, hands-free voice coach for releasing back knots by massage."""

__version__ = "0.1.0"
