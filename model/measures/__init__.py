"""Stage 4, the measures: every reported figure, as pure functions (docs/metrics.md).

- ``access``: coverage within 5/10/15 minutes and within each type's level, the coverage table;
- ``usage``: visits, turned away, unmet needs, walks and crowding per facility type;
- ``segregation``: residential indices on count tables (blocks, communities);
- ``activity``: mixing from co-presence at facilities, and the per-tick co-presence count;
- ``contacts``: the network of who met whom;
- ``summary``: summary.json assembled from the above for a finished model.

A new measure goes into the module of its family, with its formula and source in the docstring,
and is added to ``summary``.
"""
