"""The submit tab's logic without a browser: messages and the queue."""

from __future__ import annotations

import json
from pathlib import Path

from leaderboard.store.database import open_store
from leaderboard.submissions import Limits
from space import submit


def test_submit_messages_and_the_client_rate_limit(synth_dir: Path, tmp_path: Path,
                                                   monkeypatch) -> None:

    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(synth_dir))
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    ids = [c.checkup_id for c in load_split(synth_dir, "test", "en").checkups]
    good = tmp_path / "good.jsonl"
    good.write_text("".join(json.dumps({"id": i, "task": "code_cls", "prediction": "Pulpitis"})
                            + "\n" for i in ids))
    other = tmp_path / "other.jsonl"
    other.write_text(good.read_text().replace("Pulpitis", "Gingivitis"))
    meta = {"model_name": "m", "submitter": "ann"}
    assert "not both" in submit.submit(sessions, tmp_path, "synthetic-demo", str(good),
                                       '{"backend": "hf"}', meta)
    one = submit.submit(sessions, tmp_path, "synthetic-demo", str(good), "", meta,
                        client="10.0.0.7", limits=Limits(per_day=1))
    assert one.startswith("Queued as submission **#1**")
    # Another name from the same address: still over the daily limit.
    refused = submit.submit(sessions, tmp_path, "synthetic-demo", str(other), "",
                            {**meta, "submitter": "bea"}, client="10.0.0.7",
                            limits=Limits(per_day=1))
    assert refused.startswith("**Refused:**") and "this address" in refused
    queue = submit.queue_table(sessions)
    assert queue.to_dict("records")[0]["status"] == "pending"
    assert queue.to_dict("records")[0]["position"] == 1
