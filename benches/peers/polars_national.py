"""The national month in polars: the same join and headline counts doisoat reports.

A peer for `benches/national.sh`, not a second implementation: it does less than doisoat
(no ID rules, name comparison, layout detection, row errors or exception list).
Usage: python3 polars_national.py LIST.csv PAYOUTS.csv
"""
import json
import sys

import polars as pl

list_path, pay_path = sys.argv[1], sys.argv[2]
ids = {"population_id": pl.Utf8, "account_number": pl.Utf8}
people = pl.scan_csv(list_path, schema_overrides=ids)
pays = pl.scan_csv(pay_path, schema_overrides=ids)

paid = (
    pays.filter(pl.col("status") == "ok")
    .group_by("population_id")
    .agg(pl.col("amount").sum().alias("paid"), pl.len().alias("n"))
)
joined = people.join(paid, on="population_id", how="left")
head = joined.select(
    pl.len().alias("beneficiaries"),
    pl.col("account_number").is_not_null().sum().alias("with_account"),
    (pl.col("n").fill_null(0) > 0).sum().alias("paid_cashless"),
    pl.col("amount").sum().alias("amount_due"),
    pl.col("paid").fill_null(0).sum().alias("amount_paid"),
    (pl.col("paid").fill_null(0) == pl.col("amount")).sum().alias("matched"),
)
unmatched = pays.join(people.select("population_id"), on="population_id", how="anti").select(
    pl.len().alias("count"), pl.col("amount").sum().alias("amount")
)
a, b = pl.collect_all([head, unmatched])
out = a.to_dicts()[0]
out["unmatched_payouts"] = b.to_dicts()[0]
print(json.dumps(out))
