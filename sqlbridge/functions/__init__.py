"""What asl knows about ClickHouse's functions, as data: the registry (``registry.lookup``).

sqlglot parses ClickHouse well and maps many functions (``countIf`` -> ``count_if``, ``has`` ->
``list_contains``, ``toStartOfMinute`` -> ``date_trunc``, ``ifNull`` -> ``coalesce``, ``if`` ->
``CASE``, ``argMax`` -> ``arg_max``, ``arrayJoin`` -> ``unnest``, lambdas, ...). What it leaves
as an unknown function name, or translates to something that runs but answers differently, has
an entry here, in the module of its family; each family's docstring lists what it fixes and
adds. Each entry was checked against chdb (the real ClickHouse engine) in
``tests/sqlbridge/test_translate.py``. How to add a function: ``registry``'s docstring.

Rewrites of operators, literals and clauses (``job_id - 10``, ``status = 2``, ``ARRAY JOIN``,
``LIMIT n BY``...) are not functions: see ``sqlbridge.translate``.

Not done: most parametric aggregates are refused with NOT_IMPLEMENTED; ``toUInt64(x)`` of a
float expression of unknown type rounds in DuckDB (ClickHouse truncates; float literals and
Float64 columns are truncated here); ``toTypeName`` of a computed expression is DuckDB's type
spelt the ClickHouse way (64-bit, no Nullable); ``arrayJoin`` only works in the select list (as
DuckDB's ``unnest``).
"""

from sqlbridge.functions.entry import Call, Function
from sqlbridge.functions.registry import FUNCTIONS, lookup, lookup_name

__all__ = ["FUNCTIONS", "Call", "Function", "lookup", "lookup_name"]
