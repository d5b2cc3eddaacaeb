"""COde-Bench evaluation harness for oro-dental vision-language models."""

__version__ = "0.1.0"
