"""Results a person can keep: a PDF and a picture of the advice."""
