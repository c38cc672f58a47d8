"""initlint: find the model-code mistakes that make a network refuse to train."""

__version__ = "0.1.0"
