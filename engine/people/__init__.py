"""People and their rights: accounts, organizations, certificates, access rules, lane routing.

`accounts` manages users, organizations, certificates and API tokens, `sessions` the
server-side login sessions, `access` decides who may see and act on which instance and task,
`routing` maps a BPMN lane to a role and organization.
Imports only the base modules, so that `execution` can route tasks through it.
"""
