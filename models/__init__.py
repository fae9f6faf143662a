"""Self-supervised encoders (SimCLR, BYOL), training and embedding. Imports torch."""
