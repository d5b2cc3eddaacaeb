"""Standings on a store: rows land with replicates, rank intervals are a pure function of
the finished rows (whatever the order, the concurrency, a withdrawal or a rescore), every
task is ranked, and a run scored on other data is refused at landing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from eval_harness.tasks.base import ScoreOptions
from leaderboard import standings
from leaderboard.store.database import open_store
from leaderboard.store.schema import Board, RankInterval, Replicate, Submission, now
from leaderboard.submissions import Limits, submit_predictions
from leaderboard.worker import work
from tests.leaderboard.test_submissions import META

ROOT = Path(__file__).resolve().parents[2]
FAST = ScoreOptions(embeddings=False, resamples=50)
NO_LIMIT = Limits(per_day=1000)


@pytest.fixture(scope="module")
def board_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic benchmark with 78 test checkups (the session's 12 cannot separate
    graded rows)."""
    from eval_harness.data.synth import generate

    out = tmp_path_factory.mktemp("ranking") / "code"
    generate(out, 400, seed=3)
    return out


@pytest.fixture
def checkups(board_data: Path, monkeypatch: pytest.MonkeyPatch) -> list:
    from eval_harness.api import load_split

    monkeypatch.setenv("CODEBENCH_DATA_DIR", str(board_data))
    return load_split(board_data, "test", "en").checkups


def graded(checkups: list, right: int, task: str = "code_cls") -> bytes:
    """Predictions right on the first ``right`` checkups and wrong on the rest."""
    from eval_harness.labels.classes import CLASSES

    out = []
    for i, c in enumerate(checkups):
        if task == "code_cls":
            answer = c.primary if i < right else next(x for x in CLASSES if x != c.primary)
        else:  # code_multilabel: the class set, or one class it does not hold
            answer = (", ".join(c.classes) if i < right
                      else next(x for x in CLASSES if x not in c.classes))
        out.append(json.dumps({"id": c.checkup_id, "task": task, "prediction": answer}))
    return ("\n".join(out) + "\n").encode()


def _submit(sessions, tmp_path: Path, raw: bytes, name: str) -> int:
    return submit_predictions(sessions, "synthetic-demo", raw,
                              {**META, "model_name": name, "submitter": name},
                              folder=tmp_path, limits=NO_LIMIT).submission_id


def snapshot(sessions) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(model, task, metric) -> rank interval: what a board shows, by name."""
    with sessions() as session:
        rows = session.execute(sa.select(Submission.model_name, RankInterval.task,
                                         RankInterval.metric, RankInterval.rank_low,
                                         RankInterval.rank_high)
                               .join(Submission, Submission.id == RankInterval.submission_id)
                               .where(RankInterval.board_id == "synthetic-demo"))
        return {(r.model_name, r.task, r.metric): (r.rank_low, r.rank_high) for r in rows}


def recomputed(sessions) -> dict[tuple[str, str, str], tuple[int, int]]:
    with sessions.begin() as session:
        standings.recompute(session, "synthetic-demo")
    return snapshot(sessions)


def test_graded_rows_are_ordered_and_the_same_in_any_landing_order(
        tmp_path: Path, checkups: list) -> None:
    n = len(checkups)
    grades = {f"m{i}": right for i, right in enumerate((n, n - 1, n * 3 // 4, n // 2, n // 4, 0))}
    shown = []
    for order in (sorted(grades), sorted(grades, reverse=True)):
        folder = tmp_path / order[0]
        sessions = open_store(f"sqlite:///{folder / 'lb.sqlite'}")
        for name in order:
            _submit(sessions, folder, graded(checkups, grades[name]), name)
            work(sessions, folder, once=True, options=FAST)  # one landing at a time
        shown.append(snapshot(sessions))
    assert shown[0] == shown[1]
    by_name = {name: shown[0][(name, "code_cls", "macro_f1")] for name in grades}
    # Perfect and one-wrong tie at rank 1; the all-wrong row is last and alone there.
    assert by_name["m0"][0] == by_name["m1"][0] == 1
    assert by_name["m5"] == (6, 6)
    lows = [by_name[name][0] for name in sorted(grades, key=grades.get, reverse=True)]
    assert lows == sorted(lows)


def test_multilabel_rows_are_ranked(tmp_path: Path, checkups: list) -> None:
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    n = len(checkups)
    for name, right in (("all", n), ("half", n // 2), ("none", 0)):
        _submit(sessions, tmp_path, graded(checkups, right, "code_multilabel"), name)
    work(sessions, tmp_path, once=True, options=FAST)
    shown = snapshot(sessions)
    for metric in ("micro_f1", "macro_f1"):
        assert shown[("all", "code_multilabel", metric)][0] == 1
        assert shown[("none", "code_multilabel", metric)] == (3, 3)


def test_a_run_scored_on_other_data_is_refused_at_landing(tmp_path: Path,
                                                          checkups: list) -> None:
    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    first = _submit(sessions, tmp_path, graded(checkups, 10), "first")
    work(sessions, tmp_path, once=True, options=FAST)
    second = _submit(sessions, tmp_path, graded(checkups, 20), "second")
    with sessions.begin() as session:  # the board was made from another data folder
        session.get(Board, "synthetic-demo").dataset_fingerprint = "f" * 64
    work(sessions, tmp_path, once=True, options=FAST)
    with sessions() as session:
        refused = session.get(Submission, second)
        assert (refused.status, refused.failure_category) == ("failed", "validation")
        mine = refused.provenance.get("fingerprint") or ""
        assert "ffffffffffffffff" in refused.failure_log and "holds dataset" in \
            refused.failure_log
        assert mine == ""  # nothing of the run was stored
        assert session.scalar(sa.select(sa.func.count()).select_from(Replicate).where(
            Replicate.submission_id == second)) == 0
        assert session.get(Submission, first).status == "finished"


def test_a_task_without_statistics_for_its_primary_is_refused(tmp_path: Path,
                                                              checkups: list) -> None:
    from eval_harness.api import Scored, score_predictions
    from eval_harness.errors import DataError
    from eval_harness.predictions import read_predictions
    from leaderboard.boards import references_for
    from leaderboard.ingest import record_scored

    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    path = tmp_path / "p.jsonl"
    path.write_bytes(graded(checkups, 5))
    references = references_for("synthetic-demo")
    scored = score_predictions(read_predictions(path), references, FAST)
    from leaderboard.boards import board_row

    broken = Scored(scored.document, [{k: v for k, v in s.items() if k != "correct"}
                                      for s in scored.samples])
    with pytest.raises((DataError, KeyError)), sessions.begin() as session:
        session.add(board_row("synthetic-demo", references))
        submission = Submission(board_id="synthetic-demo", kind="predictions",
                                model_name="x", submitter="x", content_hash="x", payload={})
        session.add(submission)
        record_scored(session, submission, broken)
    with sessions() as session:  # rolled back whole
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 0


def test_withdraw_and_rescore_leave_what_a_fresh_recompute_gives(
        tmp_path: Path, checkups: list) -> None:
    from leaderboard.queue import withdraw
    from leaderboard.rescore import rescore

    sessions = open_store(f"sqlite:///{tmp_path / 'lb.sqlite'}")
    n = len(checkups)
    ids = {name: _submit(sessions, tmp_path, graded(checkups, right), name)
           for name, right in (("a", n), ("b", n * 2 // 3), ("c", n // 3))}
    work(sessions, tmp_path, once=True, options=FAST)
    assert snapshot(sessions)[("c", "code_cls", "macro_f1")][0] == 3
    with sessions.begin() as session:
        withdraw(session, ids["b"], "duplicate of a")
    after = snapshot(sessions)
    assert ("b", "code_cls", "macro_f1") not in after
    assert after[("c", "code_cls", "macro_f1")] == (2, 2)  # one row fewer above it
    assert after == recomputed(sessions)
    rescore(sessions, "synthetic-demo", tmp_path, tmp_path / "no-peer-runs", FAST)
    assert snapshot(sessions) == after == recomputed(sessions)


WORKER = [sys.executable, "-m", "leaderboard", "--db", "{url}", "worker", "--once",
          "--no-embeddings", "--poll", "0.2"]


def test_four_workers_at_once_on_postgresql_give_the_standings_of_one_recompute(
        pg_url: str, tmp_path: Path, board_data: Path, checkups: list) -> None:
    sessions = open_store(pg_url)
    n = len(checkups)
    grades = [n, n - 1, n * 7 // 8, n * 3 // 4, n // 2, n // 3, n // 8, 0]
    for i, right in enumerate(grades):
        _submit(sessions, tmp_path, graded(checkups, right), f"row{i}")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODEBENCH_DATA_DIR": str(board_data),
           "CODEBENCH_LEADERBOARD_DIR": str(tmp_path)}
    workers = [subprocess.Popen([a.format(url=pg_url) for a in WORKER], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(4)]
    outputs = [w.communicate(timeout=600) for w in workers]
    assert all(w.returncode == 0 for w in workers), "\n".join(o[1][-6000:] for o in outputs)
    with sessions() as session:
        statuses = session.scalars(sa.select(Submission.status).where(
            Submission.board_id == "synthetic-demo")).all()
    assert statuses == ["finished"] * len(grades)
    together = snapshot(sessions)
    # Every row ranked by every headline metric of its task: none lost to a race.
    assert len({k[0] for k in together}) == len(grades)
    assert together == recomputed(sessions)
    macro = {name: together[(name, "code_cls", "macro_f1")] for name in
             (f"row{i}" for i in range(len(grades)))}
    assert macro["row0"][0] == macro["row1"][0] == 1
    assert macro["row7"] == (8, 8)  # the all-wrong row never shares rank 1 with a perfect one
    sessions.kw["bind"].dispose()


def test_migration_0005_fills_replicates_and_standings_of_an_old_store(
        db_url: str, checkups: list, tmp_path: Path) -> None:
    """A store at revision 0004 (per-pair comparisons, no replicates, a board without a
    plan) upgrades in place: rows on the board's data get replicates and rank intervals;
    a row scored on other data is withdrawn with the reason, never deleted."""
    from eval_harness.api import score_predictions
    from eval_harness.predictions import read_predictions
    from leaderboard.boards import references_for
    from leaderboard.ingest import stored_sample
    from leaderboard.store.database import make_engine, upgrade

    engine = make_engine(db_url)
    upgrade(engine, "0004")
    old = sa.MetaData()
    old.reflect(engine)
    references = references_for("synthetic-demo")
    n = len(checkups)
    with engine.begin() as connection:
        connection.execute(old.tables["boards"].insert(), {
            "id": "synthetic-demo", "title": "old", "description": "", "n_checkups": n,
            "dataset_fingerprint": None, "created_at": now()})
        for i, (name, right) in enumerate((("good", n), ("half", n // 2), ("alien", n))):
            path = tmp_path / f"{name}.jsonl"
            path.write_bytes(graded(checkups, right))
            scored = score_predictions(read_predictions(path), references, FAST)
            fingerprint = "a" * 64 if name == "alien" else scored.document.dataset.fingerprint
            connection.execute(old.tables["submissions"].insert(), {
                "id": i + 1, "board_id": "synthetic-demo", "kind": "predictions",
                "model_name": name, "submitter": "old", "content_hash": name, "payload": {},
                "provenance": {"fingerprint": fingerprint}, "status": "finished",
                "attempts": 1, "created_at": now(), "updated_at": now()})
            connection.execute(old.tables["sample_records"].insert(), [
                {"submission_id": i + 1, "task": s["task"], "sample_id": s["id"],
                 "values": stored_sample(s)} for s in scored.samples])
        connection.execute(old.tables["comparisons"].insert(), {
            "board_id": "synthetic-demo", "task": "code_cls", "metric": "macro_f1",
            "a_id": 1, "b_id": 2, "delta": 0.5, "share_a_better": 1.0,
            "share_b_better": 0.0, "n_resamples": 1000})
    engine.dispose()
    sessions = open_store(db_url)
    with sessions() as session:
        board = session.get(Board, "synthetic-demo")
        assert board.resample_seed == standings.board_seed("synthetic-demo")
        assert board.dataset_fingerprint == references.dataset_info().fingerprint
        alien = session.get(Submission, 3)
        assert alien.status == "withdrawn" and "aaaaaaaaaaaaaaaa" in alien.withdrawn_reason
        assert session.scalar(sa.select(sa.func.count()).select_from(Submission)) == 3
    shown = snapshot(sessions)
    assert shown[("good", "code_cls", "macro_f1")] == (1, 1)
    assert shown[("half", "code_cls", "macro_f1")] == (2, 2)
    assert ("alien", "code_cls", "macro_f1") not in shown
    assert shown == recomputed(sessions)
    sessions.kw["bind"].dispose()


def test_list_ranks_by_any_headline_metric_and_names_the_choices(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT),
           "CODEBENCH_LEADERBOARD_DIR": str(tmp_path / "lb"),
           "CODEBENCH_PEER_RUNS": str(tmp_path / "absent")}

    def listing(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "leaderboard", "list", *args],
                              capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)

    done = listing("--task", "code_report", "--rank-by", "rougeL", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout)
    assert len(rows) == 42 and {r["metric"] for r in rows} == {"rougeL"}
    assert [r["rank_low"] for r in rows] == sorted(r["rank_low"] for r in rows)
    assert all(r["rank_low"] <= r["rank_high"] for r in rows)
    # Ranked by ROUGE-L, not by the primary: the values shown are ROUGE-L's.
    assert max(r["value"] for r in rows) < 0.7
    wrong = listing("--rank-by", "bleu")
    assert wrong.returncode == 2
    assert "macro_f1, accuracy, weighted_f1" in wrong.stderr and "Traceback" not in wrong.stderr
