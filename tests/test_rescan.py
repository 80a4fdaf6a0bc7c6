"""PortAudio is restarted (to see a replugged device) only while no speaker plays, and every
speaker is suspended around it and reopened after."""

from voice_coach.audio import rescan


class Sink:
    def __init__(self, playing=False):
        self.playing = playing
        self.log = []

    def is_playing(self):
        return self.playing

    def suspend(self):
        self.log.append("suspend")

    def resume(self):
        self.log.append("resume")


class FakeSd:
    def __init__(self):
        self.log = []

    def _terminate(self):
        self.log.append("terminate")

    def _initialize(self):
        self.log.append("initialize")


def test_no_rescan_while_a_speaker_plays(monkeypatch):
    sd = FakeSd()
    monkeypatch.setattr("voice_coach.audio.devices.sounddevice", lambda: sd)
    busy, idle = Sink(playing=True), Sink()
    rescan.register_sink(busy)
    rescan.register_sink(idle)
    try:
        assert rescan.rescan() is False
        assert sd.log == [] and busy.log == [] and idle.log == []
        busy.playing = False
        assert rescan.rescan() is True
        assert sd.log == ["terminate", "initialize"]
        assert busy.log == idle.log == ["suspend", "resume"]
    finally:
        rescan.unregister_sink(busy)
        rescan.unregister_sink(idle)
