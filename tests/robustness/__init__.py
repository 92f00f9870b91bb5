"""poollint never crashes and never corrupts a file (issue 6): one module per promise.

- test_hostile_input.py: no input crashes poollint; each bad file is one POL9xx line and the others are still checked.
- test_safe_writes.py: --fix replaces files atomically, keeping mode, owner, encoding and newlines, also when interrupted.
- test_config_errors.py: a bad configuration is one line naming the file and the key, exit 2, no traceback.
- test_never_executes.py: the code poollint checks is parsed, never imported, executed or evaluated.
- test_fuzz.py: generated programs (hypothesmith, and FastAPI + SQLAlchemy mistakes with generated code
  around them) never crash poollint, and every fix it writes compiles, is idempotent and settles its finding.
- test_fuzz_regressions.py: what the fuzzer found, as plain examples.
- test_fix_real_code.py: --fix --unsafe-fixes on copies of installed packages and the example app
  changes exactly the files --diff shows, breaks nothing, and a second --fix changes nothing.
"""
