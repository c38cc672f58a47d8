"""`initlint lsp` with IL101's check replaced: it raises (`python crashing_server.py raise`) or
ends the process that runs it (`... exit`).

A file rather than `python -c`: the check process is spawned, and runs this file's top level
(not its `__main__` block) with the same arguments, so the replacement applies there too.
"""

import os
import sys

import initlint.rules.il101_zero_product as il101

MODE = sys.argv[1]


def crash(self: object, facts: object) -> None:
    if MODE == "exit":
        os._exit(3)
    raise RuntimeError("rule bug")


il101.ZeroProduct.check = crash

if __name__ == "__main__":
    from initlint.lsp import main

    main()
