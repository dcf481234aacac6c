"""Monitoring: flags, their escalation, notifications, and the scheduler that runs the jobs.

`flags` raises yellow/red/stalled flags and clears and escalates them, `escalation` says who is
notified at which level and when, `notifications` is the bell and e-mail, `jobs` fires due BPMN
timers, `scheduler` runs every job in one leader-elected process: `lease` is the leadership
row, `election` stands by, leads and steps down, `job_runs` records each job's last run. It
may import `execution` (a timer fires a step) and everything below it; never `cases`, `demo`
or `commands`.
"""
