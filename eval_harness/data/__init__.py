"""Reading COde checkups: the record type and loaders for each on-disk form."""

from eval_harness.data.checkup import Checkup

__all__ = ["Checkup"]
