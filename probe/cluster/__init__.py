"""`probe batch --cluster`: one batch spread over the workers of a Dask cluster.

Kept apart from `probe.batch` so that a plain batch never imports Dask, and
`shard` (the pure grouping of targets) needs no Dask at all.
"""
