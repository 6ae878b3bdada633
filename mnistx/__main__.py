import sys

from mnistx.cli import main

code = main()
from mnistx.children import ENTRY, exit_now  # noqa: E402  (loaded by main already)

if code == 0 and sys.argv[1:2] == [ENTRY]:  # a job's child that did its work: no slow teardown
    exit_now()
raise SystemExit(code)
