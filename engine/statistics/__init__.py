"""Statistics for the county justice bureau's evaluation of the enforcement plan (统计分析).

`service` computes the figures (cases started, closed and open per organization, township,
process or month; flag counts and rates; on-time rates and durations per step) over the
instances a user may see; `export` writes tables to Excel (openpyxl write-only mode) and CSV.

It reads every domain (cases' projections, monitoring's flags, people's access rules,
deadlines' legal time zone) and so sits above them; it never advances an instance, writes
nothing and imports no web code. Nothing here commits.
"""
