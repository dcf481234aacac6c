"""What drives SpiffWorkflow: deployment, the guarded script engine, steps and projections.

`catalog` parses and validates deployed process folders (specs cached per content hash),
`processes` lists and deploys them, `store` (de)serializes one instance's state, `runner` runs
one step on one locked instance, `events` hands it correlated messages and signals, `waits`
reads what it waits on (timers, messages, signals), `projections` writes the tables pages
query (open tasks, timers, message subscriptions with their correlation values, audit),
`sandbox` gates and time-boxes BPMN code, `rewrite` compiles it with size guards (`limits`),
`script_worker` runs it in OS-limited worker processes, `bounds` caps timers and
multi-instance sizes, `script_api` is everything a script may call, `service_tasks` the
operations behind BPMN service tasks. Only this package imports SpiffWorkflow. It may import
`planning` (service-task operations), `deadlines`, `people` and the base modules; never
`cases`, `monitoring` or `demo`.
"""
