"""Does a discussion's opening post look like a question? Pure. The heuristics (docs/digest.md):

1. its subject, without Re:/Fwd: and the list's prefix, ends with "?";
2. or the subject's first word asks (how, what, why, which, can, does, is, anyone, ...)
   and the subject has at least three words;
3. or the author's own text (quotes and signature trimmed) has a sentence ending in "?"
   among its first 1,000 characters;
4. or that text asks in so many words ("any advice", "does anyone", "looking for", ...).
Never a question: subjects marked as announcements ([ANN], announcement, reminder, FYI,
newsletter, minutes, agenda, job posting).

A thread counts as unanswered when it looks like a question, was started at least the
list's `unanswered_days` before the digest's end (and within the four weeks before it),
and nobody but its author has posted in it since.
"""

from __future__ import annotations

import re

ASKING_WORDS = frozenset(
    "how what why when where which who whom whose can could does do did is are was were should would will "
    "shall may might any anyone anybody has have recommendations suggestions advice help ideas thoughts".split()
)  # fmt: skip
ASKING_PHRASES = (
    "any advice", "any ideas", "any suggestions", "any tips", "any thoughts", "any experience", "any recommendation",
    "does anyone", "has anyone", "can anyone", "could anyone", "is anyone", "anyone know", "anybody know",
    "looking for advice", "looking for recommendations", "looking for suggestions", "i'm looking for",
    "i am looking for", "what do you think", "how do you", "how would you", "recommend a", "would appreciate",
    "grateful for", "please help", "need help", "help me",
)  # fmt: skip
NOT_QUESTIONS = re.compile(r"^\W*(\[?ann\]?\b|announc|reminder|fyi\b|newsletter|minutes\b|agenda\b|job\b|"
                           r"\[job\]|vacancy|call for|cfp\b)", re.IGNORECASE)  # fmt: skip
SUBJECT_MARKERS = re.compile(r"^\s*((re|aw|sv|vs|antw|fwd?|wg|tr)(\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)+", re.IGNORECASE)
TAGGED = re.compile(r"\[(ann|announce|announcement|job|jobs|event|fyi)\]", re.IGNORECASE)
SENTENCE_QUESTION = re.compile(r"\?(\s|$)")


def bare_subject(subject: str) -> str:
    """A subject without reply and forward markers or bracketed list prefixes."""
    return SUBJECT_MARKERS.sub("", subject).strip()


def looks_like_question(subject: str, text: str) -> bool:
    bare = bare_subject(subject)
    if NOT_QUESTIONS.match(bare) or TAGGED.search(subject):
        return False
    if bare.rstrip().endswith("?"):
        return True
    words = re.findall(r"[\w']+", bare.lower())
    if len(words) >= 3 and words[0] in ASKING_WORDS:
        return True
    head = text[:1000]
    if SENTENCE_QUESTION.search(head):
        return True
    lowered = " ".join(head.lower().split())
    return any(phrase in lowered for phrase in ASKING_PHRASES)
