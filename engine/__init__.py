"""Xietong engine: durable BPMN execution for county law-enforcement coordination.

Plain Python: no Flask, no HTTP. Web views and scheduler jobs call the services in
`instances`, `inbox` and friends, passing a SQLAlchemy session; they commit, the engine never does.
"""
