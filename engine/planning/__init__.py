"""Joint-inspection planning (DOMAIN.md section 6, C1-C2).

Registries, verifiable draws, frequency caps and one-visit scheduling.

`models` holds the tables, `registry` the file import, `draws` the pure draw algorithm,
`service` the session-level functions and `ops` the BPMN service-task operations.
"""
