"""Who may wait for a batch: the channel's own `batch` setting, else AIVLINGUAL_BATCH, else nobody; and only in the
nightly catch-up (and the re-runs the batch sensor makes of it)."""

from __future__ import annotations

import pytest

from aivlingual_assets.ai.batching import batch_allowed, non_urgent_run
from aivlingual_assets.channels import ChannelError, channel_store
from aivlingual_assets.channels.cascade import to_stored


@pytest.fixture
def store(aiv_home):
    from aivlingual_assets import settings

    registry = channel_store(settings.database_url())
    registry.add("pekora", {"batch": to_stored("batch", "on")})
    registry.add("marine", {"batch": to_stored("batch", "off")})
    registry.add("suisei")  # no setting of its own
    return registry


def test_off_unless_the_service_or_the_channel_turns_it_on(store, monkeypatch):
    assert not batch_allowed() and not batch_allowed("suisei")
    assert batch_allowed("pekora")  # the channel's own setting
    monkeypatch.setenv("AIVLINGUAL_BATCH", "1")
    assert batch_allowed() and batch_allowed("suisei") and batch_allowed("no-such-channel")  # the service's
    assert not batch_allowed("marine")  # the channel's own setting wins over the service's
    assert batch_allowed("marine", channel_setting=True)  # a caller that knows better decides


def test_a_service_value_that_is_not_on_or_off_is_refused_naming_the_variable(monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_BATCH", "maybe")
    with pytest.raises(ChannelError, match="AIVLINGUAL_BATCH"):
        batch_allowed()


def test_only_the_nightly_catch_up_and_its_batch_reruns_may_wait(store):
    assert non_urgent_run({"aivlingual/trigger": "nightly"}, "pekora")
    assert non_urgent_run({"aivlingual/trigger": "batch"}, "pekora")
    assert not non_urgent_run({"aivlingual/trigger": "sensor"}, "pekora")  # a new upload: at once
    assert not non_urgent_run({}, "pekora")  # `aivlingual process`, a run launched by hand
    assert not non_urgent_run({"aivlingual/trigger": "nightly"}, "marine")
