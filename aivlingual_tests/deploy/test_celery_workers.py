"""The Celery profile for real: a Redis broker, two `dagster-celery` workers, the recording job's steps on them.

The profile is tested as shipped: the instance is deploy/celery/dagster.yaml (Dagster's storage and the AI
ledger in the session's PostgreSQL cluster), the code location deploy/celery/definitions.py, the workers
start with `dagster-celery worker start -y deploy/celery/celery.yaml`; each run is orchestrated in the test
process (as a run worker would), which only submits steps to the broker. Only the redelivery delay of the
kill test is shortened (a copy of celery.yaml with a 20 s visibility timeout, read by both sides).
Results are compared with the same recording processed in-process by `aivlingual process`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import pandas as pd
import pytest
import yaml
from dagster._core.definitions.reconstruct import ReconstructableRepository

from aivlingual_assets.ingestion.recording import recording_from_path
from aivlingual_assets.storage.recording_registry import RecordingRegistry
from aivlingual_tests.conftest import _ISOLATED_ENV
from aivlingual_tests.deploy.processes import background
from aivlingual_tests.fakes.llm_responders import pipeline_model
from aivlingual_tests.fakes.provider_server import Fault, ProviderServer
from aivlingual_tests.redis_broker import RedisServer

pytestmark = pytest.mark.filterwarnings("ignore::celery.exceptions.DuplicateTaskNameWarning")  # dagster-celery's own

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SUBTITLE = ROOT / "examples" / "sample_stream.ja.srt"
LOCATION = ROOT / "deploy" / "celery" / "definitions.py"
COMPARED = ("expressions", "difficulty")  # per recording; the stock's vocabulary where a stock run follows
RUN_TIMEOUT = 300


@pytest.fixture(scope="session")
def redis_server():
    if os.environ.get("AIVLINGUAL_SKIP_CELERY") == "1":
        pytest.skip("AIVLINGUAL_SKIP_CELERY=1")
    server = RedisServer().start()
    yield server
    server.stop()


def _frames(home: Path, partition: str, *, stock: bool) -> dict[str, pd.DataFrame]:
    storage = home / "storage"
    frames = {name: pd.read_parquet(storage / name / f"{partition}.parquet") for name in COMPARED}
    if stock:
        frames["vocabulary"] = pd.read_parquet(storage / "vocabulary.parquet")
    return frames


def _without_clock(frame: pd.DataFrame) -> pd.DataFrame:
    """The stock's first/last seen without their wall-clock time (when the stock run happened to see them)."""
    frame = frame.copy()
    for column in ("first_seen", "last_seen"):
        if column in frame:
            frame[column] = [(json.loads(v) if isinstance(v, str) else v).get("recording") if v else v
                             for v in frame[column]]  # a dict (native stock column), or JSON text
    return frame


def _assert_same_frames(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    assert actual.keys() == expected.keys()
    for name, frame in expected.items():
        assert len(frame) > 0, name
        pd.testing.assert_frame_equal(_without_clock(actual[name]), _without_clock(frame), obj=name)


@pytest.fixture(scope="module")
def in_process_result(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The sample's subtitles through `aivlingual process` (in-process executor, SQLite), stock included."""
    tmp = tmp_path_factory.mktemp("in_process")
    shutil.copy(SUBTITLE, tmp / "sample.ja.srt")
    with ProviderServer() as server:
        server.set_responder("openai.chat", pipeline_model)
        env = {k: v for k, v in os.environ.items() if k not in _ISOLATED_ENV}
        env.update(AIVLINGUAL_HOME=str(tmp / "aivhome"), DAGSTER_HOME=str(tmp / "dagster_home"),
                   OPENAI_BASE_URL=server.openai_base_url, OPENAI_API_KEY="test")
        done = subprocess.run([str(BIN / "aivlingual"), "process", str(tmp / "sample.ja.srt")], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=RUN_TIMEOUT)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return _frames(tmp / "aivhome", recording_from_path(tmp / "sample.ja.srt").partition_key, stock=True)


@dataclass
class CeleryProfile:
    root: Path
    env: dict[str, str]
    config: Path
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def aiv_home(self) -> Path:
        return Path(self.env["AIVLINGUAL_HOME"])

    def register_sample(self) -> str:
        shutil.copy(SUBTITLE, self.root / "sample.ja.srt")
        recording = recording_from_path(self.root / "sample.ja.srt")
        RecordingRegistry(self.env["AIVLINGUAL_DATABASE_URL"]).register(recording)
        with dg.DagsterInstance.get() as instance:
            instance.add_dynamic_partitions("recordings", [recording.partition_key])
        return recording.partition_key

    @contextmanager
    def worker(self, name: str):
        """`dagster-celery worker start` as deploy/README.md says, one pool process, in its own session."""
        command = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(self.config),
                   "-n", name, "--", "--concurrency=1"]
        with background(command, log_path=self.root / f"{name}.log", cwd=ROOT, env=self.env) as proc:
            self.workers[name] = proc
            yield proc

    def run(self, job: str, *, partition: str | None = None, assets: tuple[str, ...] | None = None) -> dg.DagsterRun:
        """Orchestrates a run of the Celery code location's ``job`` here (as a run worker would): its steps go
        to the broker, this process only submits them and collects their events."""
        recon_job = ReconstructableRepository.for_file(
            str(LOCATION), "defs", working_directory=str(ROOT)).get_reconstructable_job(job)
        tags = {"dagster/partition": partition} if partition else {}
        with dg.DagsterInstance.get() as instance:
            selection = [dg.AssetKey(name) for name in assets] if assets else None
            result = dg.execute_job(recon_job, instance, tags=tags, asset_selection=selection)
            run = instance.get_run_by_id(result.run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS, self.worker_logs()
        return run

    def worker_logs(self) -> str:
        return "".join(f"\n--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
                       for path in sorted(self.root.glob("w*.log")))


def _celery_config(path: Path, **transport_options) -> Path:
    """The shipped celery.yaml, with its broker transport options changed by ``transport_options``."""
    config = yaml.safe_load((ROOT / "deploy" / "celery" / "celery.yaml").read_text())
    config["execution"]["config"]["config_source"]["broker_transport_options"].update(transport_options)
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def celery_profile(tmp_path, postgres_cluster, redis_server, provider_server, monkeypatch, aiv_home):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / "celery" / "dagster.yaml", dagster_home / "dagster.yaml")
    monkeypatch.delenv("GEMINI_API_KEY")  # one provider, so the held request below is the step's
    provider_server.set_responder("openai.chat", pipeline_model)
    config = tmp_path / "celery.yaml"
    shutil.copy(ROOT / "deploy" / "celery" / "celery.yaml", config)
    for name, value in {
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_URL": postgres_cluster.create_database("dagster").replace("postgresql://", "postgresql+psycopg2://"),
        "AIVLINGUAL_DATABASE_URL": postgres_cluster.create_database("ledger"),
        "CELERY_BROKER_URL": redis_server.url(0),
        "CELERY_RESULT_BACKEND": redis_server.url(1),
        "AIVLINGUAL_CELERY_CONFIG": str(config),
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",  # dagster-celery starts `celery` from PATH
    }.items():
        monkeypatch.setenv(name, value)
    with redis_server_flushed(redis_server):
        yield CeleryProfile(root=tmp_path, env=dict(os.environ), config=config)


@contextmanager
def redis_server_flushed(server: RedisServer):
    """Each test starts with an empty broker (no task of an earlier test left in a queue)."""
    import redis

    client = redis.Redis.from_url(server.url())
    client.flushall()
    try:
        yield
    finally:
        client.flushall()
        client.close()


def _celery_hosts(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """Step key -> the workers that started it, in order (from dagster-celery's "Executing steps" events)."""
    hosts: dict[str, list[str]] = {}
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT).records:
        event = record.event_log_entry.dagster_event
        metadata = event.engine_event_data.metadata
        if "Celery worker" in metadata:
            hosts.setdefault(event.step_key, []).append(metadata["Celery worker"].value)
    return hosts


def _started_steps(instance: dg.DagsterInstance, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return {r.event_log_entry.dagster_event.step_key for r in records}


@pytest.mark.slow
@pytest.mark.postgres
def test_recording_and_stock_steps_run_on_two_workers_as_in_process(celery_profile, in_process_result):
    partition = celery_profile.register_sample()
    with ExitStack() as workers:
        for name in ("w1", "w2"):
            workers.enter_context(celery_profile.worker(name))
        recording_run = celery_profile.run("recording_job", partition=partition)
        stock_run = celery_profile.run("stock_job")

    with dg.DagsterInstance.get() as instance:
        for run in (recording_run, stock_run):
            hosts = _celery_hosts(instance, run.run_id)
            # every step that ran was started by a worker, none by the orchestrator itself
            assert _started_steps(instance, run.run_id) == set(hosts) != set()
            assert {h.split("@")[0] for steps in hosts.values() for h in steps} <= {"w1", "w2"}
    _assert_same_frames(_frames(celery_profile.aiv_home, partition, stock=True), in_process_result)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_worker_killed_mid_step_has_its_step_rerun_on_the_other_worker(celery_profile, provider_server,
                                                                         in_process_result):
    # Redis gives an unacknowledged step back after the visibility timeout: 20 s here (shipped: 2 h),
    # looked for every second, on both sides
    _celery_config(celery_profile.config, visibility_timeout=20, unacked_restore_interval=1,
                   unacked_restore_throttle=1)
    held, released = threading.Event(), threading.Event()
    first = threading.Lock()

    def hold_first_extraction(request):
        if "Transcript lines" in request.user and first.acquire(blocking=False):
            held.set()
            released.wait(timeout=RUN_TIMEOUT)
            return Fault.disconnect()  # its asker is dead: never answered
        return pipeline_model(request)

    provider_server.set_responder("openai.chat", hold_first_extraction)
    partition = celery_profile.register_sample()
    killed: list[str] = []

    def kill_the_holder():
        """Once the step is held at the provider: SIGKILL the worker running it, then let the request go."""
        try:
            if held.wait(timeout=RUN_TIMEOUT):
                with dg.DagsterInstance.get() as instance:
                    (run,) = instance.get_runs()
                    (holder,) = _celery_hosts(instance, run.run_id)["expressions"]
                victim = celery_profile.workers[holder.split("@")[0]]
                os.killpg(victim.pid, signal.SIGKILL)  # the worker, its pool process and the dagster-celery wrapper
                victim.wait(timeout=30)
                killed.append(holder)
        finally:
            released.set()

    with ExitStack() as workers:
        for name in ("w1", "w2"):
            workers.enter_context(celery_profile.worker(name))
        killer = threading.Thread(target=kill_the_holder, daemon=True)
        killer.start()
        # the analysis chain of the recording job: its publishing steps would only add time on one worker
        celery_profile.run("recording_job", partition=partition, assets=("recordings", "transcripts", *COMPARED))
        killer.join(timeout=60)

    (holder,) = killed
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        attempts = _celery_hosts(instance, run.run_id)["expressions"]
    assert len(attempts) == 2 and attempts[0] == holder and attempts[1] != holder, attempts
    expected = {name: in_process_result[name] for name in COMPARED}
    _assert_same_frames(_frames(celery_profile.aiv_home, partition, stock=False), expected)
