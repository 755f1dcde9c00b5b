"""X in row blocks: chunked data whose passes are sums of per-block terms.

* :mod:`.base`: :class:`~.base.ChunkedLinearData`, what a linear objective holds when X
  is chunked (one operation: ``reduce``, a per-block task summed in a fixed order);
* :mod:`.data`: its in-process variant over a block source, :mod:`.dask_data` its Dask
  variant; :mod:`.inputs` picks one for a given X;
* :mod:`.tasks`: the per-block terms of every pass (f, grad f, H v, H, its diagonal);
  :mod:`.passes`: the passes an objective binds (the block sums plus the penalty);
* :mod:`.source`: the block sources (:class:`~.source.BlockSource`, in-memory
  :class:`~.source.ArrayBlocks`); :mod:`.npy` and :mod:`.zarr_source` read files, the
  next block in the background (:mod:`.prefetch`);
* :mod:`.store` and :mod:`.streams`: the chunked store that ``fastopt convert`` writes
  and the streamed readers of its inputs.

The public entry points are in :mod:`fastopt.chunked`.
"""
