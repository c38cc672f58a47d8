from initlint.diagnostics import Severity
from initlint.rule import Rule


class UnreadableFile(Rule):
    """
    ## What it does
    Reports a file that cannot be read or decoded: permissions, a binary file,
    bytes that are not valid in the file's encoding (UTF-8 unless a PEP 263
    coding cookie says otherwise).

    ## Why is this bad?
    Python itself refuses to import such a file, and initlint cannot check it.

    ## Example
    A file saved as Latin-1 with a byte like `0xE9` and no coding cookie.

    ## Use instead
    Save the file as UTF-8, or declare its encoding on the first or second line:
    ```python
    # -*- coding: latin-1 -*-
    ```

    ## Fix
    No automatic fix.

    ## Confirmation
    `--confirm` has no check for this rule: the finding is about the file, not
    a model, and is left as it is.
    """

    code = "IL002"
    name = "unreadable-file"
    severity = Severity.ERROR
    message = "{detail}"
    emitted_by_pipeline = True
