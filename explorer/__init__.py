"""latentsky: explore the self-supervised latent space of astronomical surveys."""
