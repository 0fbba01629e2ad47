"""Picking outputs for review, recording verdicts, and the `aivlingual review` CLI."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from aivlingual_assets import cli
from aivlingual_assets.ai.ledger import ai_memory
from aivlingual_assets.learning.review import (
    ReviewError,
    UnknownMemoryError,
    get_item,
    pick_for_review,
    record_rating,
    record_verdict,
    review_counts,
    review_history,
)

from .conftest import add_memory, expression_output


def test_pick_mixes_most_reused_highest_rated_and_newest_per_type(ledger):
    t0 = 1_700_000_000.0
    reused = add_memory(ledger, "reused a lot", "{}", usage_count=9, created_at=t0)
    reused2 = add_memory(ledger, "reused a bit", "{}", usage_count=3, created_at=t0 + 1)
    add_memory(ledger, "used once", "{}", usage_count=1, created_at=t0 + 2)
    rated = add_memory(ledger, "rated", "{}", rating=5, created_at=t0 + 3)
    newest_extract = add_memory(ledger, "newest extract", "{}", created_at=t0 + 10)
    newest_level = add_memory(ledger, "newest level", "{}", request_type="difficulty.assess", created_at=t0 + 5)
    done = add_memory(ledger, "already verified", "{}", usage_count=50, created_at=t0 + 20)
    record_verdict(ledger, done, "verified", "alice")
    gone = add_memory(ledger, "already rejected", "{}", usage_count=40, created_at=t0 + 21)
    record_verdict(ledger, gone, "rejected", "alice")
    audio = add_memory(ledger, "speech", "x", kind="audio", usage_count=30, created_at=t0 + 22)

    items = pick_for_review(ledger, limit=10)
    ids = [i.id for i in items]
    assert done not in ids and gone not in ids and audio not in ids
    # round robin: most reused, highest rated, newest (per type, newest first), then the next of each
    assert ids[:3] == [reused, rated, newest_extract]
    assert set(ids) == {reused, reused2, rated, newest_extract, newest_level}
    by_id = {i.id: i for i in items}
    assert by_id[reused].reasons == ("most_reused",)
    assert by_id[newest_level].reasons == ("newest:difficulty.assess",)
    assert pick_for_review(ledger, limit=2) == items[:2]
    assert [i.id for i in pick_for_review(ledger, limit=10, request_types=["difficulty.assess"])] == [newest_level]


def test_verdicts_set_flags_reviewer_and_training_default(ledger):
    a = add_memory(ledger, "a", "{}")
    b = add_memory(ledger, "b", "{}")
    c = add_memory(ledger, "c", "{}")
    item = record_verdict(ledger, a, "verified", "alice", rating=4)
    assert (item.verified, item.rejected, item.use_for_training, item.rating) == (True, False, True, 4)
    assert item.reviewed_by == "alice" and item.reviewed_at is not None
    item = record_verdict(ledger, b, "rejected", "bob")
    assert (item.verified, item.rejected, item.use_for_training) == (False, True, False)
    item = record_verdict(ledger, c, "verified", "carol", use_for_training=False)
    assert item.verified and not item.use_for_training
    # changing one's mind: a rejected output verified later, and the other way round
    assert record_verdict(ledger, b, "verified", "bob").status == "verified"
    flipped = record_verdict(ledger, a, "rejected", "alice", reason="wrong reading")
    assert (flipped.verified, flipped.rejected, flipped.use_for_training, flipped.rating) == (False, True, False, 4)
    assert [h["action"] for h in review_history(ledger, a)] == ["verified", "rejected"]
    assert review_history(ledger, a)[-1]["reason"] == "wrong reading"


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"verdict": "ok", "reviewer": "x"}, "verdict must be"),
    ({"verdict": "verified", "reviewer": "  "}, "reviewer"),
    ({"verdict": "verified", "reviewer": "x", "rating": 6}, "from 1 to 5"),
    ({"verdict": "verified", "reviewer": "x", "rating": 2.5}, "whole number"),
    ({"verdict": "rejected", "reviewer": "x", "use_for_training": True}, "cannot be used for training"),
])
def test_invalid_verdicts_change_nothing(ledger, kwargs, message):
    memory_id = add_memory(ledger, "p", "{}")
    with pytest.raises(ReviewError, match=message):
        record_verdict(ledger, memory_id, **kwargs)
    item = get_item(ledger, memory_id)
    assert (item.verified, item.rejected, item.reviewed_by, item.rating) == (False, False, None, None)


def test_unknown_ids_are_reported(ledger):
    with pytest.raises(UnknownMemoryError):
        record_verdict(ledger, 999, "verified", "x")
    with pytest.raises(UnknownMemoryError):
        record_rating(ledger, 999, 3, "x")


def test_nothing_is_verified_without_a_human(ledger, aiv_home):
    """Caching, reuse, ratings and review picking never set ``verified``."""
    from aivlingual_assets.ai import AICore, AISettings

    core = AICore(AISettings.from_env(database_url=ledger.url, home=aiv_home))
    for _ in range(3):
        core.generate_text("expressions.extract", "草", offline=lambda: expression_output(("草", "くさ", "lol")))
    memory_id = pick_for_review(ledger, limit=1)[0].id
    record_rating(ledger, memory_id, 5, "alice")
    with ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).where(ai_memory.c.verified.is_(True))).scalar_one() == 0
    assert review_counts(ledger)["ready_for_training"] == 0


def test_rating_keeps_the_output_in_the_queue_as_highest_rated(ledger):
    memory_id = add_memory(ledger, "p", "{}")
    item = record_rating(ledger, memory_id, 5, "alice")
    assert item.rating == 5 and item.status == "rated" and not item.verified
    assert pick_for_review(ledger)[0].reasons[:2] == ("highest_rated", "newest:expressions.extract")
    verified = record_verdict(ledger, memory_id, "verified", "bob")
    assert record_rating(ledger, memory_id, 2, "carol").reviewed_by == verified.reviewed_by == "bob"


# ---- CLI -----------------------------------------------------------------------------------------
@pytest.fixture
def user(monkeypatch):
    monkeypatch.setenv("USER", "alice")
    return "alice"


def test_cli_list_and_show(ledger, user, capsys):
    first = add_memory(ledger, "Transcript: 草", {"items": [{"lemma": "草"}]}, usage_count=4)
    add_memory(ledger, "Transcript: ガチ", {"items": [{"lemma": "ガチ"}]})
    assert cli.main(["review", "list", "--limit", "5"]) == 0
    out = capsys.readouterr().out
    assert "2 output(s) without a verdict" in out and f"{first:6d}" in out and "most_reused" in out
    assert cli.main(["review", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows][0] == first
    assert cli.main(["review", "show", str(first)]) == 0
    out = capsys.readouterr().out
    assert "Transcript: 草" in out and "--- output ---" in out and "status: unreviewed" in out


def test_cli_approve_reject_rate(ledger, user, capsys):
    a, b, c, d = (add_memory(ledger, f"p{i}", "{}") for i in range(4))
    assert cli.main(["review", "approve", str(a), "--rating", "5"]) == 0
    assert cli.main(["review", "approve", str(b), "--reviewer", "bob", "--no-training"]) == 0
    assert cli.main(["review", "reject", str(c), "--reason", "made-up reading"]) == 0
    assert cli.main(["review", "rate", str(d), "3"]) == 0
    out = capsys.readouterr().out
    assert f"#{a} verified by alice, rating 5" in out and "not used for training" in out
    items = {i: get_item(ledger, i) for i in (a, b, c, d)}
    assert (items[a].verified, items[a].use_for_training, items[a].rating) == (True, True, 5)
    assert items[a].reviewed_by == "alice"
    assert (items[b].verified, items[b].use_for_training, items[b].reviewed_by) == (True, False, "bob")
    assert (items[c].rejected, items[c].use_for_training) == (True, False)
    assert review_history(ledger, c)[0]["reason"] == "made-up reading"
    assert (items[d].rating, items[d].verified, items[d].rejected) == (3, False, False)
    assert cli.main(["review", "list"]) == 0
    assert "1 output(s) without a verdict, 2 verified, 1 rejected, 1 ready for training" in capsys.readouterr().out
    assert cli.main(["review", "show", str(c)]) == 0
    assert "rejected by alice [cli] (made-up reading)" in capsys.readouterr().out


def test_cli_errors(ledger, user, capsys):
    assert cli.main(["review", "approve", "4242"]) == 2
    assert "No AI output with id 4242" in capsys.readouterr().err
    memory_id = add_memory(ledger, "p", "{}")
    with pytest.raises(SystemExit):
        cli.main(["review", "rate", str(memory_id), "9"])
    assert get_item(ledger, memory_id).rating is None
