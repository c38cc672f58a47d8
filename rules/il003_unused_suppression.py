from initlint.diagnostics import Severity
from initlint.rule import Rule


class UnusedSuppression(Rule):
    """
    ## What it does
    Reports a suppression comment (`# noqa`, `# noqa: IL101`,
    `# initlint: ignore[IL101]`) that silences no finding, or the codes in it
    that silence nothing. Only reported when asked for, with
    `--show-unused-suppressions` or `report-unused-suppressions = true`.

    ## Why is this bad?
    A suppression outlives the code it was written for: once the model is
    fixed, the stale comment would hide the next real finding on that line.

    ## Example
    ```python
    self.fc = nn.Linear(64, 10)  # noqa: IL201
    ```

    ## Use instead
    ```python
    self.fc = nn.Linear(64, 10)
    ```

    ## Fix
    No automatic fix.

    ## Confirmation
    `--confirm` has no check for this rule: the finding is about the file, not
    a model, and is left as it is.

    ## Known problems
    A suppression that only silences a finding linked across files (IL301
    with the model in another file) is reported as unused.
    """

    code = "IL003"
    name = "unused-suppression"
    severity = Severity.WARNING
    message = "{detail}"
    emitted_by_pipeline = True
