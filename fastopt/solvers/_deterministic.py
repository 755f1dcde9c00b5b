"""The common option ``seed`` on a method that draws no random numbers: refused, not
silently ignored."""

from __future__ import annotations

__all__ = ["refuse_seed"]


def refuse_seed(run, method: str) -> None:
    """Refuse a ``seed`` given to a deterministic method.

    ``seed`` is one of :func:`fastopt.minimize`'s common options, but only randomized runs
    use it (the row sampling of ``sketch-newton``, the shuffled mini-batches of the
    first-order methods). Accepted and ignored by a deterministic method, it would suggest
    that two seeds give two different runs.

    Parameters
    ----------
    run : fastopt.solvers.run.Run
        Its ``seed`` (None when not given).
    method : str
        The method's public name, for the message.

    Raises
    ------
    ValueError
        When ``run.seed`` is not None.
    """
    seed = getattr(run, "seed", None)
    if seed is not None:
        raise ValueError(f"seed does not apply to method {method!r}, which draws no random "
                         f"numbers (got seed={seed!r}); leave it None")
