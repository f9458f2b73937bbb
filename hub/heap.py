"""The collector's view of a long-running process's heap."""

import gc


def settle_heap() -> None:
    """Move what is alive once a serving process or a worker has built itself (the
    imported modules, the schema, the templates, the broker and its actors, the
    simulators of the demo) out of the collector's sight.

    Python's full collection walks every tracked object: over everything the hub holds
    after start-up it stopped the event loop for 200–290 ms every ~6 s under load (the
    p99 of the busiest pages, issue 12), and a signing worker spent ~3 % of its CPU in
    such passes (150 ms each); over what is allocated after start-up, 7–22 ms. Objects
    frozen here are never collected, so this runs once per process, after a
    collection, and never in tests."""
    gc.collect()
    gc.freeze()
