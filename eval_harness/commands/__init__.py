"""CLI subcommands of `python -m eval_harness`, one module each."""
