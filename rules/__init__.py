"""The rules initlint ships: one module per rule, named `il<code>_<name>.py`."""
