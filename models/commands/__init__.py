"""Sub-commands of ``latentsky`` that need torch (imported lazily in ``run``)."""
