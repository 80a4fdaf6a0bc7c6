"""The phrase language of content/phrases.toml: words in, spans of meaning out.

A heard text becomes tokens: lower-case whole words, with "|" where a clause breaks (punctuation).
A phrase is a row of whole words with a few operators (see the top of phrases.toml):

    a|b      one of these words          word?   may be left out
    {class}  a word of that class        ...     up to three words between
    ^  $     start and end of a clause

Phrases compile to regular expressions over the joined tokens, so a match is always whole words
and never crosses a clause break. There are no open prefixes: "sharp" never matches "sharpener".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BREAK = "|"
GAP = 3

_CLAUSE_PUNCT = re.compile(r"[.,;:!?()\"\u2026]+|\s-+\s|--+")


class PhraseError(ValueError):
    """A phrase in content that cannot be compiled; the message says why."""


def tokens(text: str) -> list[str]:
    """Lower-case whole words with BREAK between clauses; elongations squeezed ("stooop")."""
    text = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\[unk\]|<unk>", " ", text)
    text = re.sub(r"(\d+)\s*/\s*10\b", r"\1 out of 10", text)
    text = re.sub(r"(\d+)\s*%", r"\1 percent", text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)", r"\1 to \2", text)  # "6-7"
    text = re.sub(r"o'\s*clock", "oclock", text)
    text = text.replace("'", "")
    text = _CLAUSE_PUNCT.sub(f" {BREAK} ", text)
    out: list[str] = []
    for raw in re.findall(r"\||\d+(?:\.\d+)?|[a-z]+", text):
        if raw == BREAK:
            if out and out[-1] != BREAK:
                out.append(BREAK)
            continue
        out.append(raw)
    while out and out[-1] == BREAK:
        out.pop()
    return out


def words_only(toks: list[str]) -> list[str]:
    return [t for t in toks if t != BREAK]


def squeeze(word: str, known: set[str] | frozenset[str]) -> str:
    """A word said long ("nooo", "stoooop", "yesss") as the word, when a letter runs 3+ times."""
    if not re.search(r"([a-z])\1\1", word):
        return word
    one = re.sub(r"([a-z])\1+", r"\1", word)
    two = re.sub(r"([a-z])\1\1+", r"\1\1", word)
    for cand in (two, one):
        if cand in known:
            return cand
    return word


def squeeze_all(word: str) -> str:
    """Every run of a repeated letter as one letter ("owww" -> "ow", "aarrgghh" -> "argh")."""
    return re.sub(r"([a-z])\1+", r"\1", word)


@dataclass(frozen=True)
class Span:
    start: int  # token index (in the token list with breaks)
    end: int  # exclusive
    phrase: str

    def overlaps(self, other: "Span") -> bool:
        return self.start < other.end and other.start < self.end

    def inside(self, other: "Span") -> bool:
        return other.start <= self.start and self.end <= other.end and (self.start, self.end) != (other.start, other.end)


@dataclass
class Phrase:
    text: str
    regex: re.Pattern
    words: tuple[str, ...]  # every literal word it can match, for recognizer vocabularies

    def find(self, joined: str, starts: dict[int, int]) -> list[Span]:
        out = []
        pos = 0
        while True:
            m = self.regex.search(joined, pos)
            if m is None:
                return out
            a, b = m.start(), m.end()
            if b == a:  # an all-optional phrase matched nothing
                pos = a + 1
                continue
            first = starts[a]
            # count tokens in the match: every token is followed by exactly one space
            n = joined[a:b].count(" ")
            out.append(Span(first, first + n, self.text))
            pos = a + 1


def compile_phrase(text: str, classes: dict[str, list[str]]) -> Phrase:
    parts = text.lower().replace("'", "").split()
    if not parts:
        raise PhraseError("has no words")
    rx = []
    words: list[str] = []
    lit = 0
    for part in parts:
        if part == "^":
            rx.append(r"(?<=\| )")
            continue
        if part == "$":
            rx.append(r"(?=\|)")
            continue
        if part == "...":
            rx.append(r"(?:[^| ]+ ){0,%d}" % GAP)
            continue
        optional = part.endswith("?")
        core = part[:-1] if optional else part
        alts: list[str] = []
        for alt in core.split("|"):
            if alt.startswith("{") and alt.endswith("}"):
                name = alt[1:-1]
                if name not in classes:
                    raise PhraseError(f"{{{name}}} is not a class in [words]")
                alts += classes[name]
            elif re.fullmatch(r"[a-z0-9]+(?:\.[0-9]+)?", alt):
                alts.append(alt)
                words.append(alt)
            else:
                raise PhraseError(f"{alt!r} is not a whole word (no '*' prefixes: list the words)")
        group = "(?:" + "|".join(re.escape(a) for a in sorted(set(alts), key=len, reverse=True)) + ") "
        rx.append(f"(?:{group})?" if optional else group)
        lit += 1
    if not lit:
        raise PhraseError("has no words")
    body = "".join(rx)
    return Phrase(text, re.compile(r"(?<= )" + body), tuple(words))


@dataclass
class Text:
    """A heard text, tokenized and joined for matching."""

    toks: list[str]
    joined: str = ""
    starts: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        parts = [BREAK] + self.toks + [BREAK]
        self.joined = " ".join(parts) + " "
        self.starts = {}
        pos = 0
        for i, t in enumerate(parts):
            self.starts[pos] = i - 1  # index into self.toks
            pos += len(t) + 1

    def find(self, phrases: list[Phrase]) -> list[Span]:
        out: list[Span] = []
        for p in phrases:
            out += p.find(self.joined, self.starts)
        return out

    def clause_of(self, i: int) -> tuple[int, int]:
        a = i
        while a > 0 and self.toks[a - 1] != BREAK:
            a -= 1
        b = i
        while b < len(self.toks) and self.toks[b] != BREAK:
            b += 1
        return a, b


def keep(found: list[Span], unless: list[Span]) -> list[Span]:
    """Matches that no exception span takes over: an exception that overlaps a match and reaches
    at least as far ("not too hard" over "too hard"; "hurts a bit" over "it hurts")."""
    return [m for m in found if not any(u.overlaps(m) and u.end >= m.end for u in unless)]
