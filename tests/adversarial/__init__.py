"""The adversarial suite (issue 7, and issue 3's leak test): tests that try hard to make Kontor
leak a hidden record or break.

* world.py - worlds as plain specs, a unique token in every field, the oracle (product.md §4).
* coverage.py - every rule of ``app.url_map`` mapped to how it is exercised; a new route fails
  ``test_leaks.py::test_every_route_is_covered`` until it is added there.
* test_leaks.py / leakcheck.py - every GET route as every user with every record id (fixed
  worlds, extension on and off); test_random_worlds.py - the same on Hypothesis worlds.
* test_writes.py - every state-changing route as a user without access: refused, nothing changed.
* test_csrf.py, test_hardening.py, test_bad_input.py, test_concurrency.py, test_faults.py.
* test_regressions.py - one focused test per bug the suite found.

``KONTOR_ADV_PROFILE=thorough`` runs many more random worlds and fuzzed inputs than CI does.
The figures for the closing note land in ``test-results/adversarial-figures.json`` and under the
test summary.
"""
