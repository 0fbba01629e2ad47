"""A stand-in language model for the pipeline's own tasks, as a provider-server responder."""

from __future__ import annotations

import json
import re

WORDS = (("草", "くさ", "lol"), ("推し", "おし", "favourite"), ("スパチャ", "スパチャ", "Super Chat"))


def extraction(request) -> dict:
    """Picks lines mentioning a few known words from the prompt, plus one made-up item."""
    items = []
    for match in re.finditer(r"\[(\d+\.\d+)-(\d+\.\d+)\] (.*)", request.user):
        start, end, text = float(match[1]), float(match[2]), match[3]
        for word, reading, meaning in WORDS[:2]:
            if word in text:
                items.append({"expression": word, "lemma": word, "reading": reading, "meaning": meaning,
                              "category": "internet", "explanation": "stream slang", "example": text,
                              "start": start + 1000, "end": end + 1000, "source_url": None})
    items.append({"expression": "存在しない", "lemma": "存在しない", "reading": "そんざいしない", "meaning": "made up",
                  "category": "vocabulary", "explanation": "", "example": "", "start": 0, "end": 1,
                  "source_url": None})
    return {"items": items}


def levels(request) -> dict:
    items = json.loads(request.user.split("\n", 1)[1])
    return {"items": [{"expression": i["expression"], "lemma": i["lemma"], "reading": i["reading"], "level": "slang",
                       "score": 0.9, "method": "llm", "reason": "internet slang"} for i in items]}


def pipeline_model(request):
    """Extraction and levels answered like a model would; anything else gets the server's default."""
    if "Transcript lines" in request.user:
        return extraction(request)
    if request.user.startswith("Assess each expression"):
        return levels(request)
    return None
