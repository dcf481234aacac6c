"""Demo data: Yengisar's agencies and townships, accounts, registries and cases in flight.

`seed` builds the whole demo database, `accounts` the organizations and users of every role,
`planning` the enterprise registry and inspection items, `cases` the cases in flight (with
yellow, red and stalled flags). The top layer: it may import anything in the engine.
"""
