"""Development and test tooling, outside the product's import paths.

sandbox/  a fake Linq Partner API (plain WSGI, no Django) for ``bin/run``, the tests and the benchmarks
bench/    benchmarks (``bin/bench``, ``bin/bench-rollout``): figures as ratios in one run, never tests
demo/     a Django app installed only with DEBUG=1 or in the tests: demo data, sandbox faults,
          history seeding, and the shared test clock of worker processes
localtls  a self-signed https file server (the demo's photo host, and the tests')

Nothing in ``contactcards`` or ``linqadmin`` imports from here (a test checks it), except the settings,
which install ``devtools.demo`` when DEBUG is on.
"""
