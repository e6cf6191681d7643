"""The commands, one module per family: rating, review, rulebooks."""
