"""Stage 4, the measures: every reported figure, as pure functions (docs/metrics.md).

- ``access``: coverage within each type's level and within 5/10/15 minutes, the coverage table;
- ``equity``: the Gini coefficient of users' minutes, access by group and by age band;
- ``sfca``: supply-aware access, the two-step floating catchment (Luo & Wang 2003);
- ``usage``: visits, turned away, unmet needs, walks, 15-minute usage (Abbiasov et al. 2024)
  and the crowding of open spaces per facility type;
- ``segregation``: residential indices on count tables (blocks, communities), relative exposure;
- ``catchment``: residential exposure within each resident's 15-minute walk;
- ``activity``: mixing from co-presence at facilities (exposure, experienced isolation,
  dissimilarity, coverage), and the per-tick co-presence count;
- ``contacts``: the network of who met whom;
- ``walks``: the walking distances these need beyond the nearest facility, from the city stage;
- ``summary``: summary.json assembled from the above, from a run's context (never the model).

A new measure goes into the module of its family, with its formula and source in the docstring,
and is added to ``summary``.
"""
