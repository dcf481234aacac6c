"""Xietong engine: durable BPMN execution for county law-enforcement coordination.

Plain Python: no Flask, no HTTP. Web views and scheduler jobs call the services in
`engine.cases` (and the other domain packages' `service`-style modules), passing a SQLAlchemy
session; they commit, the engine never does.

One package per domain, lowest layer last (enforced by `lint-imports`, see pyproject.toml):
`demo`, `commands` → `cases` → `monitoring` → `execution` → `planning` → `deadlines`, `people`
→ the top-level `audit` (the hash-chained audit log), `models`, `db`, `settings`, `errors` and
`untrusted` (checks on untrusted text and JSON).
"""
