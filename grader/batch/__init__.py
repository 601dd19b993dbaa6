"""A class: many submissions graded at once and resumably, on this machine (`local`) or on a
Dask cluster of Docker hosts (`cluster`, with `remote` on each worker)."""
