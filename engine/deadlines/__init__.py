"""Statutory deadlines: the working-day calendar, deadline rules, case clocks, task due times.

`calendar` is the Chinese working-day calendar (chinese-calendar plus the override table:
Xinjiang holidays, admin corrections), `rules` turns a rule such as `3wd` or `2mo` into a due
time in Asia/Shanghai (DOMAIN.md T1-T10), `clocks` keeps case clocks that start, pause and stop
(`case_90`), `tasks` computes one user task's warn and due times from its BPMN properties. Imports
only the base modules (`models`, `db`, `settings`, `errors`).
"""
