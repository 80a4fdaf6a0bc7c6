"""Benchmarks for voice_coach: recognition accuracy on real speech, false triggers, stop latency
through the real audio path, and cost. Run with `voice-coach bench`; see docs/benchmarks/."""
