"""A tiny shop: the example workspace of Greenpatch's quick start."""
