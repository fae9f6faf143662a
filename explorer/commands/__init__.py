"""Sub-commands of ``latentsky`` that do not need torch (see :mod:`explorer.cli`)."""
