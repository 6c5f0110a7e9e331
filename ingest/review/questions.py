"""The questions a reviewer answers, their allowed answers and keyboard shortcuts.

The NSFW categories are those of the 2020 paper's hand survey (Table 6, the ``category``
column of seeds/hand_survey_2020.csv; tests/pytest/review/test_review_import.py keeps the two
equal), plus ``not_nsfw``. An item is (image_id, annotator, face_idx, question): image
questions leave annotator and face_idx NULL, face questions name one face box."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

NSFW_CATEGORIES = ("beach_voyeur", "exposed_private_parts", "upskirt", "verifiably_pornographic")


@dataclass(frozen=True)
class Question:
    name: str
    about_face: bool  # True: asked of one face box (annotator, face_idx); False: of the image
    answers: tuple[str, ...]
    keys: tuple[str, ...]  # one keyboard shortcut per answer, in the same order
    prompt: str
    #: answers that confirm the model's flag (confirmed_flags keeps these)
    flags: tuple[str, ...]

    def labels(self) -> list[dict]:
        return [{"answer": a, "key": k, "label": a.replace("_", " ")} for a, k in zip(self.answers, self.keys,
                                                                                     strict=True)]

    def answer_for(self, given: str) -> str | None:
        """The answer a reviewer means by a word (``not_nsfw``, ``not nsfw``) or by its key
        (``0``, as the page and the README name them), case-insensitively; None if neither."""
        text = given.strip().lower()
        by_key = dict(zip(self.keys, self.answers, strict=True))
        word = text.replace(" ", "_")
        return word if word in self.answers else by_key.get(text)

    def choices(self) -> str:
        """The answers with their keys, for a sentence: "yes (y), no (n)"."""
        return ", ".join(f"{a} ({k})" for a, k in zip(self.answers, self.keys, strict=True))


QUESTIONS: dict[str, Question] = {
    q.name: q
    for q in (
        Question("nsfw_category", False, (*NSFW_CATEGORIES, "not_nsfw"), ("1", "2", "3", "4", "0"),
                 "Which kind of NSFW content does the image show (the 2020 paper's Table 6 categories)?",
                 NSFW_CATEGORIES),
        Question("is_face", True, ("yes", "no"), ("y", "n"), "Is the box around a human face?", ("yes",)),
        Question("apparent_minor", True, ("yes", "no", "unsure"), ("y", "n", "u"),
                 "Does the person in the box look under 18?", ("yes",)),
    )
}


def item_key(question: str, image_id: str, annotator: str | None, face_idx: int | None) -> str:
    """One string per item, for URLs and the store: question/image_id[/face_idx/annotator]."""
    if annotator is None or face_idx is None:
        return f"{question}/{image_id}"
    return f"{question}/{image_id}/{int(face_idx)}/{annotator}"


def review_id(dataset: str, reviewer: str, question: str, image_id: str, annotator: str | None,
              face_idx: int | None) -> str:
    """raw.reviews.review_id of a reviewer's answer to an item: the same item and reviewer
    always get the same id, so an answer lands once however often it is landed."""
    parts = [dataset, reviewer, question, image_id, annotator or "", "" if face_idx is None else str(int(face_idx))]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


MAX_REVIEWER = 64
MAX_NOTE = 1000


def check_reviewer(name: str | None) -> str | None:
    """The problem with a reviewer name, or None: 1-64 printable characters."""
    text = name.strip() if isinstance(name, str) else ""
    if not text:
        return "a reviewer name is needed"
    if len(text) > MAX_REVIEWER:
        return f"a reviewer name has at most {MAX_REVIEWER} characters"
    if not text.isprintable():
        return "a reviewer name has only printable characters"
    return None
