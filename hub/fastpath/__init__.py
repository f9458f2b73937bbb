"""The compiled path: record-list queries answered by one SQL statement.

A query whose selection only uses what :mod:`hub.fastpath.shapes` lists (the record
lists with their to-one and to-many relations, filters, keyset paging both ways) is
planned once per (query text, operation name) (:mod:`hub.fastpath.plan`) and answered
by one statement — built and compiled once per operation and caller shape
(:mod:`hub.fastpath.cache`) — that builds the response's JSON in PostgreSQL with the
caller's authorisation, masking and access log (:mod:`hub.fastpath.sql`); the JSON goes
to the client as PostgreSQL wrote it. Everything else, and every request that would
answer with an error, goes through the ordinary path (graphql-core and the resolvers);
the same guards run first.

``HUB_GRAPHQL_FASTPATH`` (``Settings.graphql_fastpath``): ``on`` (default), ``off``, or
``check``: every query the compiled path answers is also answered by the ordinary path,
and both answers and access logs must be equal (the compiled path's own statement is
rolled back). The tests' settings say ``check``, so the whole suite compares both paths
on every query it sends that the compiled path supports.
"""

from hub.fastpath.run import FastPath

__all__ = ["FastPath"]
