"""Metrics: pure functions over lists, each returning a MetricResult."""

from eval_harness.metrics.base import MetricResult

__all__ = ["MetricResult"]
