"""Benchmark tasks, one module each: prompt building, answer extraction, applicable metrics.

- ``code_cls``: six-way classification of a checkup into a COde benchmark class.
"""
