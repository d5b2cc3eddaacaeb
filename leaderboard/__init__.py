"""The COde-Bench leaderboard: storage, submissions, worker, tables and charts.

Reads results documents written by `eval_harness`; never computes metrics itself
and never reads held-out labels.
"""
