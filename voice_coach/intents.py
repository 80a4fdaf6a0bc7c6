"""From heard text to intents, using the word lists in content/phrases.toml.

Red flags are found first and are hard to deny: a red-flag phrase counts as negated only when a
negator stands right before it (with at most a few filler words between). Everything else halts.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from voice_coach.validate import Checker, load_toml

RED_FLAG = "red_flag"
RATING = "rating"
LOCATION = "location"
NONE = "none"

# Order matters: after red flags, the first intent the current step can use wins.
COMMAND_INTENTS = (
    "stop", "pause", "resume", "repeat", "skip", "next", "finish", "help", "time_left",
    "found", "ready", "softened", "yes", "no",
)
ALL_INTENTS = (RED_FLAG, *COMMAND_INTENTS, RATING, LOCATION, NONE)
# Words the coach promises out loud to obey; content may add to these lists, never drop them.
REQUIRED_PHRASES = {"stop": ("stop",), "pause": ("pause", "wait"), "resume": ("resume",)}
# Only these may have sound-alikes: guessing any other intent would steer the session.
SOUND_ALIKE_INTENTS = ("stop", "pause")


@dataclass(frozen=True)
class Intent:
    name: str
    value: object = None


def normalize(text: str) -> list[str]:
    text = text.lower().replace("\u2019", "'").replace("'", "")
    text = re.sub(r"\[unk\]|<unk>", " ", text)
    text = re.sub(r"(\d+)\s*/\s*10\b", r"\1 out of 10", text)
    return re.findall(r"[a-z]+|\d+(?:\.\d+)?", text)


@dataclass(frozen=True)
class Pattern:
    """A phrase of words; a word ending in '*' matches by prefix."""

    words: tuple[str, ...]

    @classmethod
    def parse(cls, phrase: str) -> "Pattern":
        words = []
        for raw in phrase.lower().replace("'", "").split():
            star = raw.endswith("*")
            core = re.sub(r"[^a-z0-9]", "", raw)
            words.append(core + ("*" if star else ""))
        return cls(tuple(w for w in words if w.strip("*")))

    def find(self, tokens: list[str]) -> list[int]:
        """Start indexes of every match in tokens."""
        n = len(self.words)
        hits = []
        for i in range(len(tokens) - n + 1):
            if all(_word_matches(w, tokens[i + j]) for j, w in enumerate(self.words)):
                hits.append(i)
        return hits

    def spoken(self) -> str:
        """The words as a recognizer should expect them (prefixes keep their stem)."""
        return " ".join(w.rstrip("*") for w in self.words)


def _word_matches(pattern: str, token: str) -> bool:
    if pattern.endswith("*"):
        return token.startswith(pattern[:-1])
    return token == pattern


@dataclass
class PhraseBook:
    red_flags: dict[str, list[Pattern]]
    fuzzy: dict[str, str]  # whole red-flag word -> kind, for near misses
    fuzzy_min_length: int
    negators: frozenset[str]
    fillers: frozenset[str]
    max_gap: int
    intents: dict[str, list[Pattern]]
    sound_alikes: dict[str, frozenset[str]]  # intent -> words that stand for it when said alone
    numbers: dict[str, int]
    rating_ignore: list[Pattern]
    half: list[Pattern]
    grammar_words: list[str]
    sides: list[str]
    levels: list[str]
    areas: list[Pattern]
    source: str = ""
    _raw: dict = field(default_factory=dict, repr=False)

    # -- parsing -------------------------------------------------------------------------------

    def parse(self, text: str) -> list[Intent]:
        """Every intent in the text, red flag first; [Intent('none')] if nothing matched.
        What is urgent, and what an unsure transcript keeps, is voice_coach/understand.py's call."""
        tokens = normalize(text)
        found: list[Intent] = []
        kind = self.red_flag(tokens)
        if kind:
            found.append(Intent(RED_FLAG, kind))
        alone = tokens[0] if len(tokens) == 1 else None
        for name in COMMAND_INTENTS:
            if any(p.find(tokens) for p in self.intents[name]) or alone in self.sound_alikes.get(name, ()):
                found.append(Intent(name))
        rating = self.rating(tokens)
        if rating is not None:
            found.append(Intent(RATING, rating))
        location = self.location(tokens)
        if location:
            found.append(Intent(LOCATION, location))
        return found or [Intent(NONE)]

    def red_flag(self, tokens: list[str]) -> str | None:
        for kind, patterns in self.red_flags.items():
            for p in patterns:
                for start in p.find(tokens):
                    if not self._negated(tokens, start):
                        return kind
        for i, t in enumerate(tokens):
            if len(t) >= self.fuzzy_min_length:
                for word, kind in self.fuzzy.items():
                    if _one_edit_apart(t, word) and not self._negated(tokens, i):
                        return kind
        return None

    def _negated(self, tokens: list[str], start: int) -> bool:
        i = start - 1
        gap = 0
        while i >= 0 and gap <= self.max_gap:
            if tokens[i] in self.negators:
                return True
            if tokens[i] not in self.fillers:
                return False
            gap += 1
            i -= 1
        return False

    def rating(self, tokens: list[str]) -> int | None:
        tokens = _remove(tokens, self.rating_ignore)
        half = any(p.find(tokens) for p in self.half)
        values = []
        for t in tokens:
            if t in self.numbers:
                values.append(self.numbers[t])
            elif re.fullmatch(r"\d+(\.\d+)?", t):
                v = float(t)
                if 0 <= v <= 10:
                    values.append(v)
        if not values:
            return None
        best = max(values) + (0.5 if half else 0)
        return min(10, math.ceil(best))

    def location(self, tokens: list[str]) -> str | None:
        area = next((p.spoken() for p in self.areas if p.find(tokens)), None)
        side = next((t for t in tokens if t in self.sides), None)
        level = next((t for t in tokens if t in self.levels), None)
        if area is None:
            # "Lower right" names a place on a back massage by itself, and keeps it when the
            # recognizer garbles the last word ("lower right smack"). A lone side does not.
            if side is None or level is None:
                return None
            area = "back"
        if side in ("center", "centre"):
            side = "middle"
        return " ".join(x for x in (side, level, area) if x)

    # -- vocabulary ----------------------------------------------------------------------------

    def vocabulary(self) -> list[str]:
        """Every phrase worth recognizing, in whole words, for building recognizer grammars.

        Patterns with a "*" word stand in through the whole words of [grammar].
        """
        patterns = [p for ps in self.red_flags.values() for p in ps]
        patterns += [p for ps in self.intents.values() for p in ps]
        patterns += self.rating_ignore + self.half + self.areas
        phrases = [p.spoken() for p in patterns if not any(w.endswith("*") for w in p.words)]
        phrases += list(self.numbers) + self.sides + self.levels + self.grammar_words
        return sorted(set(phrases))


def _one_edit_apart(a: str, b: str) -> bool:
    """True if a and b differ by exactly one substitution, insertion or deletion."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + (len(a) == len(b)) :] == b[i + 1 :]


def _remove(tokens: list[str], patterns: list[Pattern]) -> list[str]:
    tokens = list(tokens)
    for p in patterns:
        while hits := p.find(tokens):
            i = hits[0]
            del tokens[i : i + len(p.words)]
    return tokens


def load_phrasebook(path: Path) -> PhraseBook:
    data = load_toml(path)
    c = Checker(path)
    c.table(data, "", {"red_flags", "negation", "intents", "sound_alikes", "ratings", "grammar", "locations"})

    red = c.table(data["red_flags"], "red_flags", {"sharp_pain", "radiating", "numbness", "tingling", "fuzzy_min_length"})
    fuzzy_min_length = int(c.number(red, "red_flags", "fuzzy_min_length", 4, 20))
    red_flags = {k: _patterns(c, red, "red_flags", k) for k in ("sharp_pain", "radiating", "numbness", "tingling")}

    neg = c.table(data["negation"], "negation", {"negators", "fillers", "max_gap"})
    negators = frozenset(c.text_list(neg, "negation", "negators"))
    fillers = frozenset(c.text_list(neg, "negation", "fillers", allow_empty=True))
    max_gap = int(c.number(neg, "negation", "max_gap", 0, 5))

    ints = c.table(data["intents"], "intents", set(COMMAND_INTENTS))
    intents = {k: _patterns(c, ints, "intents", k) for k in COMMAND_INTENTS}
    for name, words in REQUIRED_PHRASES.items():
        for w in words:
            if Pattern((w,)) not in intents[name]:
                raise c.fail(f"intents.{name}", f"must include {w!r}: the coach tells people they can say it")

    alikes = c.table(data["sound_alikes"], "sound_alikes", set(SOUND_ALIKE_INTENTS))
    sound_alikes = {}
    for name in alikes:
        words = [w.lower() for w in c.text_list(alikes, "sound_alikes", name, allow_empty=True)]
        for i, w in enumerate(words):
            if normalize(w) != [w]:
                raise c.fail(f"sound_alikes.{name}[{i}]", f"{w!r} must be one plain word")
        sound_alikes[name] = frozenset(words)

    rat = c.table(data["ratings"], "ratings", {"numbers", "ignore", "half"})
    nums = c.table(rat["numbers"], "ratings.numbers", set(rat["numbers"]) if isinstance(rat["numbers"], dict) else set())
    numbers = {}
    for word in nums:
        numbers[word.lower()] = int(c.number(nums, "ratings.numbers", word, 0, 10))
    if sorted(set(numbers.values())) != list(range(11)):
        raise c.fail("ratings.numbers", "must name every rating from 0 to 10")

    gram = c.table(data["grammar"], "grammar", {"words"})
    grammar_words = [w.lower() for w in c.text_list(gram, "grammar", "words")]
    fuzzy = {}
    for w in grammar_words:
        for kind, patterns in red_flags.items():
            if len(w) >= fuzzy_min_length and any(p.find([w]) for p in patterns if len(p.words) == 1):
                fuzzy.setdefault(w, kind)
    for section, table in (("red_flags", red_flags), ("intents", intents)):
        for name, patterns in table.items():
            for p in patterns:
                for w in p.words:
                    if w.endswith("*") and not any(g.startswith(w[:-1]) for g in grammar_words):
                        raise c.fail(f"{section}.{name}", f"{w!r} has no whole word in grammar.words")

    loc = c.table(data["locations"], "locations", {"sides", "levels", "areas"})
    return PhraseBook(
        red_flags=red_flags,
        fuzzy=fuzzy,
        fuzzy_min_length=fuzzy_min_length,
        negators=negators,
        fillers=fillers,
        max_gap=max_gap,
        intents=intents,
        sound_alikes=sound_alikes,
        numbers=numbers,
        rating_ignore=_patterns(c, rat, "ratings", "ignore"),
        half=_patterns(c, rat, "ratings", "half"),
        grammar_words=grammar_words,
        sides=[s.lower() for s in c.text_list(loc, "locations", "sides")],
        levels=[s.lower() for s in c.text_list(loc, "locations", "levels")],
        areas=_patterns(c, loc, "locations", "areas"),
        source=str(path),
        _raw=data,
    )


def _patterns(c: Checker, table: dict, key: str, name: str) -> list[Pattern]:
    patterns = []
    for i, phrase in enumerate(c.text_list(table, key, name)):
        p = Pattern.parse(phrase)
        if not p.words:
            raise c.fail(f"{key}.{name}[{i}]", f"phrase {phrase!r} has no words")
        patterns.append(p)
    return patterns
