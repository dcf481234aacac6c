"""Case services: the functions web views, the API, jobs and the CLI call to work on cases.

`instances` starts cases, completes tasks, retries failed ones and reads what a case page shows
(start and completion answer with an `Outcome` taken from the step just run), `task_details`
reads a task as the API shows it without loading the instance's state,
`messages` routes messages (by correlation) and signals from other systems to waiting cases,
`inbox` lists, claims and reassigns open tasks, `forms` validates submitted task data against
its JSON Schema and the Xietong rules (teams, certificates, stamps), with `form_offers` (the
acting side, offered choices, once per period) and `form_windows` (plausible dates). The top
service layer: it may import every domain package below it, never `demo` or `commands`.
"""
