"""The understanding stage alone, on typed utterances: recall per category and false triggers.

    python -m benchmarks.understanding            # prints the figures
    python -m benchmarks.understanding --write    # regenerates docs/understanding.md

The table is tests/data/utterances.tsv (context, utterance, expected meaning); ordinary talk comes
from ../shared/speech/talk/transcripts.tsv and the read sentences in ../shared/speech/sentences.
"""

from __future__ import annotations

import argparse
import csv
from dataclasses import dataclass, field
from pathlib import Path

from voice_coach.intents import Context, PhraseBook
from voice_coach.routine import coach_lines, load_content

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "tests" / "data" / "utterances.tsv"
HELDOUT = ROOT / "tests" / "data" / "utterances_heldout.tsv"
BLIND = ROOT / "tests" / "data" / "utterances_blind.tsv"
BLIND_2 = ROOT / "tests" / "data" / "utterances_blind_2.tsv"
BLIND_3 = ROOT / "tests" / "data" / "utterances_blind_3.tsv"
BLIND_4 = ROOT / "tests" / "data" / "utterances_blind_4.tsv"


@dataclass(frozen=True)
class HeldOut:
    """A table written after the grammar met its targets on TABLE, with its first run: the figures
    before anything was changed for it, the fair estimate for phrasings nobody has tried. Its later
    runs are no longer blind."""

    title: str
    path: Path
    first_run: dict[str, tuple[int, int]]
    about: str
    # Safety rows still missed on purpose, named in `about`: a red flag not halted, a denial halted.
    known_misses: tuple[str, ...] = ()


HELD_OUT = (
    HeldOut("Held-out phrasings", HELDOUT,
            {"red_flag": (19, 20), "stop": (20, 22), "rating": (11, 13), "yes_no": (14, 14), "hedge": (5, 5), "release": (3, 3), "none": (11, 13)},
            "Written by us after the grammar met its targets on the main table. Its misses were then fixed by general rules "
            "(a twinge is a feeling; 'pressing ... hard'; 'gentle please'; 'stop at the shop' is no command; 'shouting' is "
            "no misheard 'shooting')."),
    HeldOut("A blind table (2026-12-07)", BLIND,
            {"red_flag": (59, 61), "denied": (13, 15), "stop": (66, 79), "rating": (39, 47), "yes_no": (38, 47), "hedge": (21, 21),
             "release": (9, 11), "none": (45, 54)},
            "335 rows written by a separate reviewer from a description of the steps and meanings alone, without seeing the "
            "grammar, the code or the other tables, in mixed styles (recognizer-style lower case, British, Australian and "
            "Indian idioms, swearing, typos). First run: no answer came out as its opposite except one ('she can't sleep on "
            "that side' as a no to the sleep question), and no stop as a halt; two denials halted; one false halt ('a "
            "stabbing on the news'). The misses were then fixed by general rules, none by listing a row: swearing adds "
            "nothing to an utterance's length; a word said over and over is said alone; 'a stabbing' needs a feeling "
            "like 'sharp' does; 'mind numbing'; a movement word between a negation and the place ('nothing shooting down "
            "my leg'); not wanting to go on is a stop; 'half a mo', 'hold your horses'; crushing and 'go easier' are "
            "pressure complaints; 'bus stop', 'stop sign'; 'the wait' is a noun; 'never let go'; a stutter ('sev-seven'); "
            "'number six', 'he says seven', 'it is six'; 'a bit' with a yes is the yes; what someone cannot do is the "
            "trouble asked about, not a denial. Left as they are, by design: a lone 'ten' at the rating question halts "
            "(the guide's agonizing pain); 'I'm done', 'call it a day' finish the session (after 'take the pressure off' "
            "when a thumb is on the knot) rather than pause it; 'no, just a bit' stays a hedge at a safety question (it "
            "admits some); 'take your thumb off' pauses rather than ending the hold (both take the pressure off). Not "
            "fixed: typos of number words ('sevn': one letter from 'seven' is also 'fine' from 'five'), answers with no "
            "answer word ('back's clear, not a scratch', 'it's fine, just stiff'), 'that's a bit much' (with a number it "
            "would pause what is a rating), 'definitely softer' at the soften question (a pressure word there), 'that "
            "comedian was killing me', 'a ten out of ten soundtrack' (a rating no step takes), and 'the bread knife "
            "isn't sharp enough' (a closing 'enough' is a stop). 'It feels looser now' at the soften question is "
            "'softened', which that step takes as a yes."),
    HeldOut("A second blind table (2026-12-07)", BLIND_2,
            {"red_flag": (46, 50), "denied": (10, 12), "stop": (52, 65), "rating": (38, 42), "yes_no": (38, 46), "hedge": (15, 15),
             "release": (5, 8), "none": (22, 30)},
            "268 rows by another reviewer, as blind, written after the first blind table's rules were in: so its first "
            "run measures how those rules carry to new phrasings. It leans on recognizer-style text, older people and "
            "children, the giver reporting what the recipient says, and regional words. First run: no answer came out "
            "as its opposite and no stop as a halt; two denials halted, and three ordinary sentences halted ('shooting "
            "a film down our road', 'gone numb to all the bad news', 'a stabbing on the news' after 'there was'). Fixed "
            "by general rules: an ambiguous -ing word used as a thing or an act ('a stabbing', 'shooting a film') needs "
            "a real feeling word, not one that only points ('there', 'down'); 'it's really sharp' reported by someone "
            "else; a denial covers a list ('no tingling or numbness'); more movement words inside a denial ('doesn't "
            "go down my arm'); 'numb to it all'; 'our stop', 'never stops'; 'had enough', 'we're stopping'; 'needs a "
            "minute', 'a breather'; 'a bit much' (now a pressure complaint: 'eight, it's a bit much' in the main table "
            "pauses and eases off rather than taking the eight, the safe side); 'do it softer'; 'bottom' as a place pain "
            "goes; 'mm eight', 'a good hurt six'; 'yeah nah' and 'nah yeah'; 'he says yes'; the question said back "
            "before the answer ('a fever, no'); at the soften question 'softer' describes the knot. Left as they are: "
            "finishing phrasings finish; 'don't stop believing' pauses (a 'don't ... stop' is taken as a stop, the "
            "safe side); 'take the pressure off now please' is the coach's own line and is ignored as its echo."),
    HeldOut("A third blind table, typed (2026-12-07)", BLIND_3,
            {"red_flag": (46, 49), "denied": (10, 10), "stop": (56, 62), "rating": (35, 41), "yes_no": (40, 40), "hedge": (14, 14),
             "release": (6, 8), "none": (22, 25)},
            "249 rows by a third reviewer, as blind, written after the second table's rules were in, as people type at the "
            "console: chat shorthand ('pls', 'ur', 'idk', 'tbh'), missing apostrophes, typos, letters held down ('stoppp'), "
            "capitals. First run: no answer came out as its opposite, no stop as a halt, no false halt; the misses were "
            "typos ('stpo', 'nmub', 'tinlgy', 'sevn', 'presure', 'waitt') and shorthand ('take ur thumb off', '1 sec pls', "
            "'gimme a min', '7 tbh'). Fixed by general rules: a typed word that is no English word (the CMU dictionary "
            "PocketSphinx ships, 126,000 words) is taken for the one word of the book it fits with two neighbouring letters "
            "swapped, a letter left out, or in a longer word one letter too many; a last letter held down; chat shorthand "
            "(`[shorthand]` in content/phrases.toml); 'min' and '1 sec'. A real word is never changed ('there' is never "
            "'three'), and a wrong letter is never guessed: over every transcript of tonight's benches (clips, the coach's "
            "echo, 62 min of talk, music and room) the rules changed 8 words ('noo', 'stingling', 'founds'...) and no "
            "figure. Left as they are: a lone '10' at the rating halts; 'lift off now' pauses (the pressure comes off "
            "either way); 'no worries' and 'a 10' in chat where nothing was asked."),
    HeldOut("A fourth blind table, red flags (2026-12-07)", BLIND_4,
            {"red_flag": (112, 120), "denied": (27, 35), "none": (38, 45)},
            "200 rows by a fourth reviewer, as blind, on red flags alone: 120 red flags in medical, colloquial and "
            "regional words, 35 denials, 45 sentences using the same words otherwise. First run: red flags 112/120, "
            "8 denials halted, 2 ordinary sentences halted ('that stabbing on the news', 'this knife isn't sharp "
            "enough'); 5 of the 7 'none' misses are ratings and answers at their own steps, which the session rightly "
            "takes. Fixed by general rules: a trapped or pinched nerve, nerve pain; paresthesia; 'all of a sudden' "
            "with a pain; 'me' for 'my' ('me leg'); 'proper sharp'; an apostrophe-s on a limb ('foot's'); '{limb} "
            "feels like ... asleep'; 'nothing's' as a negation; a negation inside a phrase's own gap ('my leg hasn't "
            "gone numb'); 'that'/'this' before an -ing word used as a thing; 'this knife' is the knife. Still missed, "
            "on purpose: 'like a red hot wire down me leg' (a simile carries no movement word, and 'like' as one would "
            "make 'pour it into my hand like that' a halt), and a word asked back then denied ('numb? no, not at all', "
            "3 rows) still halts: a recognizer writes the same '?' and ',' for 'numb, no!' said in pain.",
            known_misses=("crikey that's like a red hot wire down me leg", "numb? no, not at all", "pins and needles? nope",
                          "tingling, no. just tight")),
)
TALK = ROOT.parent / "shared" / "speech" / "talk" / "transcripts.tsv"
# The read sentences in shared/speech/sentences have no transcript file: these are their texts
# (CMU ARCTIC prompts a0001-a0006 and a0010, and the 1961 inaugural address excerpt).
SENTENCES = {
    "cmu_arctic_us_aew_a0001.wav": "Author of the danger trail, Philip Steels, etc.",
    "cmu_arctic_us_aew_a0002.wav": "Not at this particular case, Tom, apologized Whittemore.",
    "cmu_arctic_us_aew_a0003.wav": "For the twentieth time that evening the two men shook hands.",
    "cmu_arctic_us_axb_a0004.wav": "Lord, but I'm glad to see you again, Phil.",
    "cmu_arctic_us_axb_a0005.wav": "Will we ever forget it.",
    "cmu_arctic_us_axb_a0006.wav": "God bless 'em, I hope I'll go on seeing them forever.",
    "arctic_a0010.wav": "Gad, your letter came just in time.",
    "jfk.wav": "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.",
}
TRIGGERS = ("red_flag", "stop", "pause", "release", "rating", "yes", "no")
CATEGORIES = {
    "red_flag": "red flags halted", "denied": "denied red flags (halting allowed, counted apart)",
    "stop": "stop/pause phrasings that pause", "rating": "ratings exact", "yes_no": "yes/no right",
    "hedge": "hedges re-asked or taken the safe way", "release": "release-now during a hold",
    "none": "everyday chat that triggers nothing",
}
TARGETS = {"red_flag": 0.99, "stop": 0.98, "rating": 0.97, "yes_no": 0.95, "hedge": 1.0, "none": 0.97}
# The contexts the ordinary talk is tried in: every step that acts on what it hears.
TALK_STEPS = (None, "hold", "rating", "read_back", "soften", "yes_no", "palpation", "strokes")


@dataclass
class Row:
    context: str
    text: str
    expected: str


@dataclass
class Result:
    k: int = 0
    n: int = 0
    misses: list[str] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)

    @property
    def p(self) -> float:
        return self.k / self.n if self.n else 1.0


def read_table(path: Path = TABLE) -> list[Row]:
    rows = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        context, text, expected = line.split("\t")
        rows.append(Row(context, text, expected))
    return rows


def context_for(content, name: str) -> Context:
    r = content.routine
    if name == "-":
        return Context()
    if name.startswith("yes_no:"):
        qid = name.split(":", 1)[1]
        if qid == r.screening.advisory.id:
            return Context("yes_no", r.screening.advisory.ask)
        return Context("yes_no", next(q.ask for q in r.screening.questions if q.id == qid))
    questions = {"soften": r.soften.ask, "read_back": r.guidance.confirm.format(rating=2), "next": r.next.prompt}
    return Context(name, questions.get(name, ""))


def category(expected: str) -> str:
    if expected in ("stop", "pause", "pressure"):
        return "stop"
    if expected.startswith("rating="):
        return "rating"
    if expected in ("yes", "no"):
        return "yes_no"
    if expected in ("hedge", "ambiguous"):
        return "hedge"
    return expected


def judge(book: PhraseBook, content, row: Row) -> tuple[bool, str, dict[str, bool]]:
    """(right, what it meant, notes) for one row."""
    ctx = context_for(content, row.context)
    intents = book.parse(row.text, ctx)
    names = [i.name for i in intents]
    got = ", ".join(f"{i.name}{'=' + str(i.value) if i.value is not None else ''}{'/' + i.reason if i.reason else ''}" for i in intents)
    urgent = any(n in ("red_flag", "stop", "pause") for n in names)
    e = row.expected
    notes: dict[str, bool] = {}
    if e == "red_flag":
        return "red_flag" in names, got, notes
    if e == "denied":
        return "red_flag" not in names, got, {"halted": "red_flag" in names}
    if e in ("stop", "pause", "pressure"):
        ok = "stop" in names or "pause" in names
        if e == "pressure":
            notes["pressure_reason"] = any(i.name == "stop" and i.reason == "pressure" for i in intents)
        notes["halted"] = "red_flag" in names
        return ok and "red_flag" not in names, got, notes
    if e == "release":
        return "release" in names and "red_flag" not in names, got, notes
    if e.startswith("rating="):
        want = int(e.split("=")[1])
        rating = next((i.value for i in intents if i.name == "rating"), None)
        return rating == want and not urgent, got, notes
    if e in ("yes", "no"):
        other = "no" if e == "yes" else "yes"
        notes["opposite"] = other in names and e not in names and not urgent
        return e in names and other not in names and not urgent, got, notes
    if e in ("hedge", "ambiguous"):
        unsafe = "yes" in names or "no" in names or "rating" in names
        notes["named_hedge"] = "hedge" in names or "ambiguous" in names
        return not unsafe, got, notes
    if e == "none":
        return not any(n in TRIGGERS for n in names), got, notes
    raise ValueError(f"unknown expected meaning {e!r}")


def evaluate(book: PhraseBook | None = None, content=None, rows: list[Row] | None = None) -> dict[str, Result]:
    content = content or load_content(ROOT / "content")
    book = book or content.phrases
    out: dict[str, Result] = {c: Result() for c in CATEGORIES}
    for row in rows if rows is not None else read_table():
        ok, got, notes = judge(book, content, row)
        res = out[category(row.expected)]
        res.n += 1
        res.k += ok
        for key, v in notes.items():
            res.extra[key] = res.extra.get(key, 0) + bool(v)
        if not ok:
            res.misses.append(f"[{row.context}] {row.text!r} -> {got}")
    return out


def ordinary_sentences() -> list[tuple[str, str]]:
    rows = []
    if TALK.exists():
        for name, text in csv.reader(TALK.open(), delimiter="\t", quoting=csv.QUOTE_NONE):
            rows.append((f"talk/{name}", text))
    for name, text in SENTENCES.items():
        rows.append((f"sentences/{name}", text))
    return rows


def ordinary_triggers(content=None) -> tuple[int, int, list[str]]:
    """(sentences tried x contexts, triggers, examples): nothing ordinary may halt, stop, rate or answer."""
    content = content or load_content(ROOT / "content")
    book = content.phrases
    sentences = ordinary_sentences()
    bad = []
    n = 0
    for name, text in sentences:
        for step in TALK_STEPS:
            n += 1
            question = content.routine.screening.questions[0].ask if step == "yes_no" else ""
            names = [i.name for i in book.parse(text, Context(step, question))]
            hit = [x for x in names if x in TRIGGERS]
            if hit:
                bad.append(f"{name} [{step}] {hit}: {text!r}")
    return n, len(bad), bad


def coach_triggers(content=None) -> list[str]:
    """Coach lines (placeholders filled) that parse as anything at all, in any step."""
    content = content or load_content(ROOT / "content")
    bad = []
    for line in dict.fromkeys(coach_lines(content.routine)):
        for step in TALK_STEPS:
            names = [i.name for i in content.phrases.parse(line, Context(step))]
            if any(x in TRIGGERS for x in names):
                bad.append(f"[{step}] {line!r}: {names}")
    return bad


# A first blind check whose rows were not kept: its figures as they were written down.
BLIND_1202 = """## A blind check (2026-12-02)

A separate reviewer wrote 210 utterances from the description of the steps alone, without seeing
the grammar or either table, and ran them once through `PhraseBook.parse` with the step's context:

| category | right |
|---|---|
| red flags halted | 44/45 |
| stop/pause phrasings (and pressure complaints) | 32/35 |
| ratings exact | 33/35 |
| yes | 10/14 |
| no | 17/18 |
| hedges re-asked or taken the safe way | 15/15 |
| release during a hold | 6/6 |
| everyday chat that triggers nothing | 39/42 |

No answer came out as its opposite, and no stop as a halt. The misses: "I suddenly got a really
bad pain" (no halt), "I need a break" and "I don't like that" (no pause), "number five", "no I said
seven" at a read-back (the number lost), yes/no given without a yes or no word ("I have the flu",
"he does actually", "I'm healthy": asked again). False triggers on chat: "don't stop believing",
"the bus stop moved" (a stop: a nuisance) and "a film about a stabbing" (a halt). After that run,
three general rules were added (a sudden severe pain with up to three words between; "need/take a
break" as a pause; "I don't like that/it" and "it's getting worse" as pressure complaints), so
these figures are the blind estimate and no longer blind for those rows. Its rows were not kept; the
2026-12-07 blind table above met the same kinds of misses again ("number six", "the bus stop", "a
stabbing on the news"), which rules then fixed."""


def report(results: dict[str, Result], talk: tuple[int, int, list[str]], coach: list[str],
           held_out: list[tuple[HeldOut, dict[str, Result]]] | None = None) -> str:
    L = ["# Understanding: typed utterances through the understanding stage alone", "",
         "Regenerate with `python -m benchmarks.understanding --write`. The table is "
         "`tests/data/utterances.tsv` (written by hand from how a giver and a recipient talk during a "
         "massage; each row has the step it is said at). Recognition is not in the picture here: "
         "see docs/benchmarks/ for recorded speech. The grammar was built against this table (its misses "
         "were fixed by adding general meanings, never by listing a row), so these are not blind figures: "
         "see the held-out table below.", "",
         "| category | right | n | rate | target |", "|---|---|---|---|---|"]
    for c, label in CATEGORIES.items():
        r = results[c]
        target = f"≥ {TARGETS[c]:.0%}" if c in TARGETS else "—"
        L.append(f"| {label} | {r.k} | {r.n} | {r.p:.1%} | {target} |")
    st, yn, hd, dn = results["stop"], results["yes_no"], results["hedge"], results["denied"]
    L += ["",
          f"- Pressure complaints given the pressure reason (the giver is told to ease off): {st.extra.get('pressure_reason', 0)}.",
          f"- Yes/no answered the opposite way: {yn.extra.get('opposite', 0)} of {yn.n}.",
          f"- Hedges named as hedge or ambiguous (the rest were not understood, so asked again): {hd.extra.get('named_hedge', 0)} of {hd.n}.",
          f"- Denied red flags that halted anyway (allowed; when unsure the coach halts): {dn.extra.get('halted', 0)} of {dn.n}.",
          f"- Ordinary read sentences (shared/speech/talk transcripts and shared/speech/sentences), each tried in {len(TALK_STEPS)} steps: "
          f"{talk[1]} of {talk[0]} tries halted, stopped, rated or answered.",
          f"- Lines of content/routine.toml (placeholders filled) that mean anything in any step: {len(coach)}.", ""]
    for h, res in held_out or []:
        L += [f"## {h.title}", "",
              f"`{h.path.relative_to(ROOT)}`. {h.about} The first run (before any change) is the fairer estimate for "
              "phrasings nobody has tried yet; the current figures are no longer blind.", "",
              "| category | first run | now |", "|---|---|---|"]
        for c, label in CATEGORIES.items():
            if c in h.first_run:
                k, n = h.first_run[c]
                L.append(f"| {label} | {k}/{n} ({k / n:.0%}) | {res[c].k}/{res[c].n} |")
        L.append("")
        left = [m for c in CATEGORIES for m in res[c].misses]
        if left:
            L += ["Still missed:", ""] + [f"- {m}" for m in left] + [""]
    L += [BLIND_1202, ""]
    misses = [m for c in CATEGORIES for m in results[c].misses]
    if misses:
        L += ["## Misses and false triggers", ""] + [f"- {m}" for m in misses] + [""]
    if talk[2] or coach:
        L += ["## Ordinary sentences and coach lines that triggered", ""] + [f"- {m}" for m in talk[2] + coach] + [""]
    return "\n".join(L)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="write docs/understanding.md")
    args = ap.parse_args()
    content = load_content(ROOT / "content")
    held_out = [(h, evaluate(content=content, rows=read_table(h.path))) for h in HELD_OUT]
    text = report(evaluate(content=content), ordinary_triggers(content), coach_triggers(content), held_out)
    if args.write:
        (ROOT / "docs" / "understanding.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
