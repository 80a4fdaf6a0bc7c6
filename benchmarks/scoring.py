"""From transcripts to what the session would do, and from those outcomes to rates.

The session's rules (voice_coach/session.py, live.py): every transcript, partial or final, is
checked first for a red flag (halt) and then for stop/pause (the speaker is silenced and the
session pauses); only final transcripts carry ratings, yes/no and commands (yes, no and commands
only from sure ones, see Understanding.sure; a doubted rating is read back when it would mean
"deeper", Understanding.reads_back, and acted on otherwise), and a final heard while paused is
ignored except resume/finish. So a false pause on a rating clip loses the rating.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from voice_coach.intents import RATING, RED_FLAG, Context, PhraseBook
from voice_coach.understand import STOPS as URGENT
from voice_coach.understand import Understanding, reads_back
from voice_coach.understand import urgent as urgent_intent
from voice_coach.understand import intents as meanings

CONTENT = Path(__file__).resolve().parent.parent / "content"


@lru_cache(maxsize=None)
def _guidance():
    """The routine's guidance, for the one rule of when a rating is read back."""
    from voice_coach.routine import load_content

    return load_content(CONTENT).routine.guidance


@dataclass
class Outcome:
    urgent: str | None  # red_flag | stop | pause | None: what the first urgent transcript did
    urgent_partial: bool  # it came from a partial transcript
    urgent_at: float | None  # audio time of that transcript
    final_text: str
    rating: int | None
    yes: bool
    no: bool
    confidence: float | None
    rating_sure: bool = True  # the rating came from a transcript the engine was sure of


def urgent_of(pb: PhraseBook, text: str) -> str | None:
    u = urgent_intent(pb.parse(text))
    return u.name if u is not None else None


POLICIES = ("any", "stable2", "final")


def outcome(pb: PhraseBook, transcripts: list, policy: str = "any", step: str | None = None) -> Outcome:
    """What the session does with one utterance's transcripts.

    policy: when an urgent intent acts. 'any' is the coach today (any partial or final);
    'stable2' and 'final' are levers: a partial must be followed by another transcript with the
    same urgent intent, or only final transcripts count.
    step: the question the coach asked ("rating", "yes_no"): each final is understood as the coach
    understands an answer at that step (its sixth element, from benchmarks/recog.stream(asked=True):
    decoded with the question as context), after its free text has been checked for anything urgent.
    None: the free path, no question asked.
    """
    urgent = None
    partial = False
    at = None
    finals = []
    confs = []
    sure = True
    trs = [t for t in transcripts if t[0].strip()]
    for j, tr in enumerate(trs):
        text, final, conf, t = tr[:4]
        # At a step, a final is understood as the answer heard there; its free text acts first if
        # urgent, then the answer's (Runtime.post).
        heard = tr[5][step] if step is not None and final and len(tr) > 5 else None
        if urgent is None and (final or policy == "any" or policy == "stable2"):
            u = urgent_of(pb, text)
            if u is None and heard is not None:
                # The answer as the session takes it: at the step, with its sureness (a sure
                # "10" at the rating halts, a doubted one pauses).
                found = urgent_intent(meanings(pb, heard[0], heard[1], Context(step)))
                u = found.name if found is not None else None
            if u is not None and policy == "stable2" and not final:
                nxt = trs[j + 1] if j + 1 < len(trs) else None
                if nxt is None or urgent_of(pb, nxt[0]) != u:
                    u = None
                else:
                    t = nxt[3]
            if u is not None:
                urgent, partial, at = u, not final, t
        if final:
            finals.append(heard[0] if heard is not None else text)
            sure = sure and (heard[1] if heard is not None else tr[4] if len(tr) > 4 else True)  # results from before 'sure' existed
            if conf is not None:
                confs.append(conf)
    final_text = " ".join(finals)
    rating = yes = no = None
    rating_sure = True
    if final_text.strip():
        intents = meanings(pb, final_text, sure, Context(step) if step is not None else None)
        names = [i.name for i in intents]
        r = next((i for i in intents if i.name == RATING), None)
        rating, rating_sure = (r.value, Understanding.sure_rating(r)) if r is not None else (None, True)
        yes, no = "yes" in names, "no" in names
    return Outcome(urgent, partial, at, final_text, rating, bool(yes), bool(no), min(confs) if confs else None, rating_sure)


def utterances(transcripts: list) -> list[list]:
    """Split a stream's transcripts into utterances: partials up to and including a final."""
    out, cur = [], []
    for tr in transcripts:
        cur.append(tr)
        if tr[1]:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def stream_events(pb: PhraseBook, transcripts: list, policy: str = "any") -> dict:
    """False triggers in a stream with no commands: halts, stops/pauses, ratings, yes/no."""
    ev = {"halts": 0, "stops": 0, "ratings": 0, "yesno": 0, "examples": []}
    for utt in utterances(transcripts):
        o = outcome(pb, utt, policy)
        if o.urgent == RED_FLAG:
            ev["halts"] += 1
        elif o.urgent in URGENT:
            ev["stops"] += 1
        if o.urgent is None and o.rating is not None:
            ev["ratings"] += 1
        if o.urgent is None and (o.yes or o.no):
            ev["yesno"] += 1
        if o.urgent or o.rating is not None:
            trig = next((t[0] for t in utt if urgent_of(pb, t[0])), o.final_text)
            ev["examples"].append(f"{o.urgent or 'rating'}: {trig!r}")
    return ev


# --- rates ----------------------------------------------------------------------------------


def rate(k: int, n: int) -> dict:
    """A proportion with its Wilson 95% interval."""
    if n == 0:
        return {"k": 0, "n": 0, "p": None, "lo": None, "hi": None}
    p = k / n
    z = 1.96
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return {"k": k, "n": n, "p": p, "lo": max(0.0, c - h), "hi": min(1.0, c + h)}


def score_clip(o: Outcome, set_: str, truth: str, digit_value: dict) -> dict:
    """Per-clip flags used by the summaries."""
    silenced = o.urgent is not None
    r = {"silenced": silenced, "stop": o.urgent in URGENT, "halt": o.urgent == RED_FLAG}
    # Read back first ("Was that 3?"): right once its yes is heard, and a wrong one is caught by
    # the no (the yes/no rates of the same condition say how often those are heard).
    back = o.rating is not None and 0 <= o.rating <= 10 and reads_back(int(o.rating), _guidance(), o.rating_sure)
    if set_ in ("cmd_digit", "fsdd_digit"):
        want = digit_value[truth]
        r["rating_ok"] = (not silenced) and o.rating == want
        r["rating_wrong"] = (not silenced) and o.rating is not None and o.rating != want and not back
        r["rating_none"] = (not silenced) and o.rating is None
        r["rating_read_back"] = (not silenced) and back
    if set_ in ("yes", "no"):
        r["yesno_ok"] = (not silenced) and (o.yes if set_ == "yes" else o.no) and not (o.yes and o.no)
        r["yesno_wrong"] = (not silenced) and (o.no if set_ == "yes" else o.yes)
    if set_ == "negative":
        r["fa_urgent"] = silenced
        r["fa_rating"] = (not silenced) and o.rating is not None
        r["fa_yesno"] = (not silenced) and (o.yes or o.no)
        r["fa_any"] = r["fa_urgent"] or r["fa_rating"] or r["fa_yesno"]
        r["rating_read_back"] = (not silenced) and back
    return r


def score_asked(pb: PhraseBook, transcripts: list, set_: str, truth: str, digit_value: dict) -> dict:
    """Per-clip flags on the session's path (outcome with `step`): a digit as the answer to the
    rating question, a yes or no to the yes/no question (score_clip's flags); another word: "fa",
    taken as a rating when a rating is asked or as yes/no when a yes/no is."""
    if set_ == "negative":
        at_rating = score_clip(outcome(pb, transcripts, step="rating"), set_, truth, digit_value)
        at_yesno = score_clip(outcome(pb, transcripts, step="yes_no"), set_, truth, digit_value)
        # A rating read back first is not taken: "Was that 3?", and the person's no ends it.
        taken = at_rating["fa_rating"] and not at_rating["rating_read_back"]
        return {"fa": taken or at_yesno["fa_yesno"], "fa_read_back": at_rating["fa_rating"] and at_rating["rating_read_back"]}
    step = "rating" if set_ in ("cmd_digit", "fsdd_digit") else "yes_no"
    return score_clip(outcome(pb, transcripts, step=step), set_, truth, digit_value)


def confirmed_accuracy(rows: list[tuple[bool, bool, float | None]], p_yes: float, p_no: float, p_no_as_yes: float, threshold: float) -> dict:
    """Rating accuracy when a rating heard with confidence below `threshold` is read back.

    rows: (correct, wrong, confidence) per rating clip. The read-back is answered with a real
    "yes" (if the rating was right) or "no" (if wrong), recognized with the measured rates of
    the same condition: p_yes = yes heard as yes, p_no = no heard as no, p_no_as_yes = no heard
    as yes. A rejected or unheard answer means the coach asks again; that second attempt is
    counted as neither right nor wrong, like a rating not heard at all.
    """
    n = len(rows)
    if n == 0:
        return {"p": None, "wrong": None, "readbacks": None}
    ok = wrong = reads = 0.0
    for correct, bad, conf in rows:
        if not (correct or bad):
            continue  # nothing heard: asked again; neither right nor wrong
        if conf is None or conf >= threshold:
            ok += correct
            wrong += bad
            continue
        reads += 1
        if correct:
            ok += p_yes  # otherwise the read-back fails and the coach asks again
        else:
            wrong += p_no_as_yes
    return {"p": ok / n, "wrong": wrong / n, "readbacks": reads / n}
