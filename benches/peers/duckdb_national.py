"""The national month in DuckDB SQL over the two CSVs: the same join and headline counts.

A peer for `benches/national.sh` (it does less than doisoat: no ID rules, names, layout
detection, row errors or exception list).
Usage: python3 duckdb_national.py LIST.csv PAYOUTS.csv
"""
import json
import sys

import duckdb

list_path, pay_path = sys.argv[1], sys.argv[2]
con = duckdb.connect()
types = "types={'population_id': 'VARCHAR', 'account_number': 'VARCHAR'}"
con.execute(f"CREATE VIEW people AS SELECT * FROM read_csv('{list_path}', {types})")
con.execute(f"CREATE VIEW pays AS SELECT * FROM read_csv('{pay_path}', {types})")
head = con.execute(
    """
    WITH paid AS (
        SELECT population_id, sum(amount) AS paid, count(*) AS n
        FROM pays WHERE status = 'ok' GROUP BY population_id
    )
    SELECT count(*), count(account_number), count(paid.n), sum(amount),
           coalesce(sum(paid.paid), 0), count(*) FILTER (WHERE coalesce(paid.paid, 0) = amount)
    FROM people LEFT JOIN paid USING (population_id)
    """
).fetchone()
unmatched = con.execute(
    "SELECT count(*), coalesce(sum(amount), 0) FROM pays ANTI JOIN people USING (population_id)"
).fetchone()
keys = ["beneficiaries", "with_account", "paid_cashless", "amount_due", "amount_paid", "matched"]
out = {k: int(v) for k, v in zip(keys, head)}
out["unmatched_payouts"] = {"count": int(unmatched[0]), "amount": int(unmatched[1])}
print(json.dumps(out))
