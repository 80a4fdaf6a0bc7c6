"""Stop sound-alikes by pronunciation (voice_coach/sound_alikes.py) and their place in the content."""

from __future__ import annotations

import pytest

from voice_coach.sound_alikes import SIMILAR, distance, load_dictionary, neighbours

TINY = {"stop": [("S", "T", "AA", "P")], "stick": [("S", "T", "IH", "K")], "top": [("T", "AA", "P")],
        "stay": [("S", "T", "EY")], "dog": [("D", "AO", "G")], "shop": [("SH", "AA", "P")], "stob": [("S", "T", "AA", "B")]}


def test_distance_counts_a_similar_sound_half():
    assert distance(TINY["stop"][0], TINY["stop"][0]) == 0
    assert distance(TINY["stop"][0], TINY["stob"][0]) == SIMILAR  # P -> B
    assert distance(TINY["stop"][0], TINY["shop"][0]) == 1 + SIMILAR  # S -> SH, T dropped
    assert distance(TINY["stop"][0], TINY["stick"][0]) == 2 * SIMILAR  # a vowel and a plosive swapped
    assert distance(TINY["stop"][0], TINY["top"][0]) == 1  # S dropped
    assert distance(TINY["stop"][0], TINY["stay"][0]) == 1.5  # AA -> EY, P dropped
    assert distance(TINY["stop"][0], ("S", "T", "AA", "M")) == 1  # a plosive for a nasal: a full swap


def test_neighbours_leave_out_the_target_and_words_with_a_meaning():
    assert neighbours("stop", TINY) == ["stick", "stob", "top"]
    assert neighbours("stop", TINY, exclude={"top"}) == ["stick", "stob"]
    with pytest.raises(KeyError):
        neighbours("wait", TINY)


@pytest.fixture(scope="module")
def cmudict():
    return load_dictionary()  # the dictionary the pocketsphinx package ships


def test_every_neighbour_of_stop_is_a_stop_sound_alike(content, cmudict):
    """The content list is what `python -m voice_coach.sound_alikes stop` gives (plus the
    hand-picked spellings): regenerate it when the phrase book's words change."""
    book = content.phrases
    missing = set(neighbours("stop", cmudict, exclude=book.known)) - book.sound_alikes["stop"]
    assert not missing, f"add to [sound_alikes] stop: {sorted(missing)}"
    assert len(book.sound_alikes["stop"]) > 50


def test_no_generated_sound_alike_has_a_meaning_of_its_own(content, cmudict):
    book = content.phrases
    generated = set(neighbours("stop", cmudict)) & book.sound_alikes["stop"]
    assert "stick" in generated and "skip" not in generated
    assert not (generated & book.known) - {"star", "start", "step", "stock", "stuff", "stomp", "stopped"}


@pytest.mark.parametrize("text, name", [("Stick.", "stop"), ("stub", "stop"), ("Stuck!", "stop"), ("skip", "skip"),
                                        ("stick to the left", None), ("I'm stuck", None), ("state of the art", None)])
def test_a_lone_neighbour_is_a_stop_and_nothing_else_changes(content, text, name):
    names = [i.name for i in content.phrases.parse(text)]
    assert (names[0] == name) if name else "stop" not in names
