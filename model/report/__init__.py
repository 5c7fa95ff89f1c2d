"""Stage 5, the report: what a run writes.

- ``files``: JSON and CSV writers (pyarrow), the residents and facilities tables, visits.csv;
- ``drawing``: maps and charts, the only module that imports matplotlib;
- ``results``: the whole results folder of a finished run.
"""
