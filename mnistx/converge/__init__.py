"""Does a model train as well on every backend? N seeds per backend from the same initial weights
and batch order, compared with paired statistics (runner: the parent; worker: the child; stats:
scipy.stats; report: converge.md and figures)."""
