"""Training exports: only verified outputs, scrubbed, de-duplicated, split deterministically, remembered per batch."""

from __future__ import annotations

import json
import random

import pytest
import sqlalchemy as sa

from aivlingual_assets.ai.ledger import training_data
from aivlingual_assets.learning import training_export as te
from aivlingual_assets.learning.fine_tune import FINE_TUNE_PRICES
from aivlingual_assets.learning.review import record_verdict
from aivlingual_assets.learning.training_export import (
    TrainingExample,
    example_hash,
    export_training_batch,
    near_duplicate_groups,
    split_examples,
)

from .conftest import add_memory, expression_output

LINES = [
    "今日は雑談配信です、よろしくお願いします",
    "このゲームまじでワンチャンあるかも",
    "え、それはガチでやばいって草",
    "推しの新衣装が尊すぎて無理",
    "同接が千人超えたの初めてかも",
    "切り抜き師さんいつもありがとうございます",
    "今日のボス戦、絶対に負けられない戦いがそこにはある",
    "ら抜き言葉って気にする？見れるとか来れるとか",
    "配信の最後にエンディング流すね",
    "明日は歌枠やる予定だからみんな来てね",
    "コラボ相手の先輩がめっちゃ優しかった",
    "深夜テンションで変なこと言ってたらごめん",
]


def verified_row(ledger, i: int, *, prompt: str | None = None, output=None, **kwargs) -> int:
    prompt = prompt or f"Transcript lines ([start-end] text):\n[{i}.00-{i + 3}.00] {LINES[i % len(LINES)]} (#{i})"
    output = output or expression_output((f"語{i}", f"ご{i}", f"meaning {i}"))
    memory_id = add_memory(ledger, prompt, output, **kwargs)
    record_verdict(ledger, memory_id, "verified", "tester")
    return memory_id


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_exports_only_verified_training_outputs_in_chat_format(ledger, aiv_home):
    good = verified_row(ledger, 1)
    no_training = add_memory(ledger, "p2", expression_output(("a", "あ", "x")))
    record_verdict(ledger, no_training, "verified", "tester", use_for_training=False)
    rejected = add_memory(ledger, "p3", expression_output(("b", "び", "y")))
    record_verdict(ledger, rejected, "rejected", "tester")
    add_memory(ledger, "p4 unreviewed", expression_output(("c", "し", "z")))
    audio = add_memory(ledger, "speech", "ignored", kind="audio")
    record_verdict(ledger, audio, "verified", "tester")

    result = export_training_batch(ledger, aiv_home, now=1_700_000_000)

    assert result.examples == 1 and result.candidates == 1
    assert result.path == aiv_home / "training" / result.batch_id
    lines = read_jsonl(result.path / "train.jsonl") + read_jsonl(result.path / "validation.jsonl")
    assert len(lines) == 1
    messages = lines[0]["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert messages[0]["content"] == "You are a Japanese teacher."
    assert messages[1]["content"].startswith("Transcript lines")
    assert json.loads(messages[2]["content"])["items"][0]["lemma"] == "語1"
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(training_data)).all()
    assert [(r.memory_id, r.batch_id) for r in rows] == [(good, result.batch_id)]
    manifest = json.loads((result.path / "manifest.json").read_text())
    assert manifest["examples"] == 1 and manifest["training_price_per_1m"] == 3.0


def test_rows_without_system_prompt_have_no_system_message(ledger, aiv_home):
    verified_row(ledger, 1, system=None)
    result = export_training_batch(ledger, aiv_home)
    line = (read_jsonl(result.path / "train.jsonl") + read_jsonl(result.path / "validation.jsonl"))[0]
    assert [m["role"] for m in line["messages"]] == ["user", "assistant"]


def test_personal_data_is_scrubbed_in_the_files(ledger, aiv_home):
    prompt = ("Transcript lines ([start-end] text):\n[1.00-3.00] タロウさんスパチャありがとう！\n"
              "[3.00-5.00] 連絡は taro@example.jp か 090-1234-5678、https://x.com/taro_vt も見てね")
    output = {"items": [{"expression": "スパチャ", "lemma": "スパチャ", "reading": "すぱちゃ", "meaning": "super chat",
                         "category": "vtuber_culture", "explanation": "x",
                         "example": "タロウさんスパチャありがとう！", "start": 1.0, "end": 3.0}]}
    verified_row(ledger, 1, prompt=prompt, output=output)
    result = export_training_batch(ledger, aiv_home)
    text = (result.path / "train.jsonl").read_text() + (result.path / "validation.jsonl").read_text()
    for secret in ("タロウ", "taro@example.jp", "1234-5678", "taro_vt"):
        assert secret not in text
    assert result.scrubbed.counts["viewer"] >= 2 and result.scrubbed.counts["email"] == 1
    line = (read_jsonl(result.path / "train.jsonl") + read_jsonl(result.path / "validation.jsonl"))[0]
    assert json.loads(line["messages"][2]["content"])["items"][0]["example"] == "[viewer]さんスパチャありがとう！"


def test_batches_remember_their_examples_and_never_export_twice(ledger, aiv_home):
    first_ids = [verified_row(ledger, i) for i in range(3)]
    first = export_training_batch(ledger, aiv_home, now=1_700_000_000)
    nothing = export_training_batch(ledger, aiv_home, now=1_700_000_100)
    assert first.examples == 3
    assert nothing.batch_id is None and nothing.examples == 0 and "No new training examples" in nothing.message
    new_id = verified_row(ledger, 7)
    second = export_training_batch(ledger, aiv_home, now=1_700_000_200)
    assert second.examples == 1 and second.batch_id != first.batch_id
    with ledger.connect() as conn:
        rows = conn.execute(sa.select(training_data.c.memory_id, training_data.c.batch_id)
                            .order_by(training_data.c.memory_id)).all()
    assert [(r.memory_id, r.batch_id) for r in rows] == [(i, first.batch_id) for i in first_ids] + [
        (new_id, second.batch_id)]
    assert sorted(p.name for p in (aiv_home / "training").iterdir()) == sorted([first.batch_id, second.batch_id])


def test_exact_duplicates_are_exported_once_even_across_batches(ledger, aiv_home):
    prompt = "Transcript lines ([start-end] text):\n[1.00-3.00] それはガチでやばい"
    output = expression_output(("ガチ", "がち", "seriously"))
    first_id = verified_row(ledger, 1, prompt=prompt, output=output, rating=2)
    better = verified_row(ledger, 2, prompt=prompt + "  ", output=output, rating=5)  # same after normalising
    result = export_training_batch(ledger, aiv_home)
    assert result.examples == 1 and result.dropped_exact_duplicates == 1
    with ledger.connect() as conn:
        exported = conn.execute(sa.select(training_data.c.memory_id)
                                .where(training_data.c.split != "duplicate")).scalars().all()
    assert exported == [better]  # the higher-rated one is kept
    with ledger.connect() as conn:
        splits = dict(conn.execute(sa.select(training_data.c.memory_id, training_data.c.split)).all())
    assert splits[first_id] == "duplicate"  # remembered, never written to a file
    verified_row(ledger, 3, prompt=prompt, output=output)
    again = export_training_batch(ledger, aiv_home)
    assert again.batch_id is None and again.dropped_exact_duplicates == 1


def test_near_duplicates_are_dropped_distinct_examples_kept(ledger, aiv_home):
    body = "\n".join(f"[{i}.00-{i + 1}.00] {line}" for i, line in enumerate(LINES))
    prompt = "Transcript lines ([start-end] text):\n" + body
    output = expression_output(("ワンチャン", "わんちゃん", "a chance"), ("尊い", "とうとい", "precious"))
    verified_row(ledger, 1, prompt=prompt, output=output)
    verified_row(ledger, 2, prompt=prompt.replace("ごめん", "ごめんね"), output=output)  # near duplicate
    verified_row(ledger, 3, prompt="Transcript lines ([start-end] text):\n[0.00-2.00] まったく別の話をします",
                 output=expression_output(("別", "べつ", "other")))
    result = export_training_batch(ledger, aiv_home)
    assert result.examples == 2
    assert result.dropped_near_duplicates == 1
    # and against an earlier batch
    verified_row(ledger, 4, prompt=prompt.replace("歌枠", "歌枠配信"), output=output)
    later = export_training_batch(ledger, aiv_home)
    assert later.batch_id is None and later.dropped_near_duplicates == 1


def test_near_duplicate_groups_use_a_similarity_threshold():
    base = "。".join(LINES)
    texts = [base, base.replace("ごめん", "ごめんね"), "全然違う内容の文章です。ゲームの話をしましょう。" * 3, base[:40]]
    groups = near_duplicate_groups(texts)
    assert groups == [0, 0, 2, 3]
    assert near_duplicate_groups(texts[:2], threshold=0.999) == [0, 1]


def _examples(n: int) -> list[TrainingExample]:
    out = []
    for i in range(n):
        messages = [{"role": "user", "content": f"prompt {i}"}, {"role": "assistant", "content": f"answer {i}"}]
        out.append(TrainingExample(memory_id=i, request_type="t", messages=messages,
                                   example_hash=example_hash(messages), tokens=10))
    return out


def test_split_is_deterministic_and_about_ten_percent():
    examples = _examples(400)
    split_examples(examples)
    sides = {e.example_hash: e.split for e in examples}
    shuffled = _examples(400)
    random.Random(7).shuffle(shuffled)
    split_examples(shuffled)
    assert {e.example_hash: e.split for e in shuffled} == sides
    validation = sum(1 for s in sides.values() if s == "validation")
    assert 20 <= validation <= 60
    # an example keeps its side when it is exported together with other examples
    subset = [e for e in _examples(400) if e.memory_id % 3 == 0]
    split_examples(subset)
    assert all(sides[e.example_hash] == e.split for e in subset)


@pytest.mark.parametrize("n", [10, 11, 15, 25])
def test_at_least_one_validation_example_from_ten_on(n):
    examples = split_examples(_examples(n))
    assert sum(e.split == "validation" for e in examples) >= 1
    assert sum(e.split == "train" for e in examples) >= 1


def test_small_batches_keep_a_training_side():
    for n in range(1, 10):
        assert any(e.split == "train" for e in split_examples(_examples(n)))


def test_token_and_cost_estimate(ledger, aiv_home):
    verified_row(ledger, 1)
    result = export_training_batch(ledger, aiv_home, base_model="gpt-4o-mini-2024-07-18", n_epochs=3)
    messages = (read_jsonl(result.path / "train.jsonl") + read_jsonl(result.path / "validation.jsonl"))[0]["messages"]
    expected_tokens = 3 + sum(-(-len(m["content"].encode()) // 3) + 4 for m in messages)
    assert result.tokens == expected_tokens
    price = FINE_TUNE_PRICES["gpt-4o-mini-2024-07-18"].training_per_1m
    assert result.estimated_cost_usd == pytest.approx(expected_tokens * 3 * price / 1e6)


def test_a_failed_export_leaves_neither_files_nor_rows(ledger, aiv_home, monkeypatch):
    verified_row(ledger, 1)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(te.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        export_training_batch(ledger, aiv_home)
    with ledger.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(training_data)).scalar_one() == 0
    assert list((aiv_home / "training").iterdir()) == []
    monkeypatch.undo()
    assert export_training_batch(ledger, aiv_home).examples == 1


def test_export_asset_and_its_personal_data_check(ledger, aiv_home):
    import dagster as dg

    from aivlingual_assets.assets.learning import training_export_is_clean, training_exports
    from aivlingual_assets.resources import AICoreResource

    for i in range(12):
        verified_row(ledger, i, prompt=f"Transcript lines:\n[1.00-2.00] タロウ{i}さんスパチャありがとう {LINES[i]}")
    resources = {"ai": AICoreResource()}
    result = dg.materialize([training_exports, training_export_is_clean], resources=resources)
    assert result.success
    md = {k: v.value for k, v in result.asset_materializations_for_node("training_exports")[0].metadata.items()}
    assert md["examples"] == 12 and md["validation_examples"] >= 1 and md["scrubbed/viewer"] >= 12
    assert md["path"] == str(aiv_home / "training" / md["batch_id"])
    (check,) = result.get_asset_check_evaluations()
    assert check.passed and check.metadata["examples_in_files"].value == 12

    # a file that was edited afterwards (or a scrubber regression) fails the check
    train = aiv_home / "training" / md["batch_id"] / "train.jsonl"
    line = json.loads(train.read_text().splitlines()[0])
    line["messages"][1]["content"] += " 連絡は taro@example.jp"
    train.write_text(json.dumps(line, ensure_ascii=False) + "\n" + "\n".join(train.read_text().splitlines()[1:]) + "\n")
    checked = dg.materialize([training_exports, training_export_is_clean], resources=resources,
                             selection=dg.AssetSelection.checks(training_export_is_clean))
    (check,) = checked.get_asset_check_evaluations()
    assert not check.passed and check.metadata["personal_data/email"].value == 1


def test_the_personal_data_check_is_independent_of_the_scrubber(ledger, aiv_home):
    """Issue 15 #11: Japanese personal data is scrubbed from the files, and what the scrubber's patterns miss
    (a family name outside its list) is still caught by the check's own detector, which then fails."""
    import dagster as dg

    from aivlingual_assets.assets.learning import training_export_is_clean, training_exports
    from aivlingual_assets.resources import AICoreResource

    personal = ["〒150-0001 東京都渋谷区神宮前1-2-3", "090・1234・5678", "佐藤花子様へ", "LINE ID: taro_yamada",
                "4111 1111 1111 1111", "マイナンバー 1234 5678 9018"]
    for i, data in enumerate(personal):
        verified_row(ledger, i, prompt=f"Transcript lines:\n[1.00-2.00] {data} {LINES[i]}")
    resources = {"ai": AICoreResource()}
    result = dg.materialize([training_exports, training_export_is_clean], resources=resources)
    (check,) = result.get_asset_check_evaluations()
    assert check.passed, check.metadata
    md = {k: v.value for k, v in result.asset_materializations_for_node("training_exports")[0].metadata.items()}
    for kind in ("postal", "address", "phone", "name", "messenger", "card", "mynumber"):
        assert md[f"scrubbed/{kind}"] >= 1, kind

    verified_row(ledger, 50, prompt=f"Transcript lines:\n[1.00-2.00] 勅使河原宏さんに会った {LINES[0]}")
    result = dg.materialize([training_exports, training_export_is_clean], resources=resources)
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.metadata["personal_data/name"].value == 1


def test_with_nothing_exported_the_check_is_skipped_not_passed(ledger, aiv_home):
    """Issue 11 #8: a check that had nothing to look at must not count as passed (the UI shows it as skipped)."""
    import dagster as dg
    from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

    from aivlingual_assets.assets.learning import training_export_is_clean, training_exports
    from aivlingual_assets.resources import AICoreResource

    with dg.instance_for_test() as instance:
        result = dg.materialize([training_exports, training_export_is_clean], resources={"ai": AICoreResource()},
                                instance=instance)
        assert result.success and result.get_asset_check_evaluations() == []
        key = dg.AssetCheckKey(training_exports.key, "training_export_is_clean")
        (record,) = instance.event_log_storage.get_asset_check_execution_history(key, limit=5)
        # planned in a run that ended without a result: Dagster resolves this to SKIPPED
        assert record.status == AssetCheckExecutionRecordStatus.PLANNED
        assert instance.get_run_by_id(record.run_id).is_finished
