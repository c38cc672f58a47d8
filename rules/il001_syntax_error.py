from initlint.diagnostics import Severity
from initlint.rule import Invalid, Rule


class SyntaxError(Rule):  # noqa: A001 - the class is the rule's name in CamelCase
    """
    ## What it does
    Reports a file that does not parse, with the parser's position and message.

    ## Why is this bad?
    initlint cannot analyse a file it cannot parse, and neither can Python run
    it. The other files are still checked.

    ## Example
    ```python
    def forward(self, x)
        return self.fc(x)
    ```

    ## Use instead
    ```python
    def forward(self, x):
        return self.fc(x)
    ```

    ## Fix
    No automatic fix.

    ## Confirmation
    `--confirm` has no check for this rule: the finding is about the file, not
    a model, and is left as it is.
    """

    code = "IL001"
    name = "syntax-error"
    severity = Severity.ERROR
    message = "{detail}"
    emitted_by_pipeline = True
    INVALID = [
        Invalid(
            source="import torch\nfrom torch import nn\n\n\ndef forward(self, x)\n    return x\n",
            at=[(5, 21)],
        )
    ]
