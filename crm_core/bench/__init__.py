"""``crm bench``: scheduler and read figures on a generated SQLite database.

:mod:`~crm_core.bench.data` builds the database, :mod:`~crm_core.bench.figures`
times the API against baselines measured in the same run,
:mod:`~crm_core.bench.report` prints the result and :mod:`~crm_core.bench.runner`
puts the steps in order. See ``bench/README.md`` at the top of the repository.
"""
