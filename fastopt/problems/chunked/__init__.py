"""X in row blocks: chunked data whose passes are sums of per-block terms.

* :mod:`.source`: the block sources (:class:`~.source.BlockSource`, in-memory
  :class:`~.source.ArrayBlocks`), and the on-disk ones beside it;
* :mod:`.data`: :class:`~.data.ChunkedLinearData`, what a linear objective holds
  when X is chunked, and its in-process variant :class:`~.data.BlockedLinearData`;
* :mod:`.tasks`: the per-block terms of every pass (f, grad f, H v, H, its diagonal).

The public entry points are in :mod:`fastopt.chunked`.
"""
