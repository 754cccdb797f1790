"""`make bench`: the benchmark suite (see run.py)."""
