"""The expression language, split by responsibility; `pingji.lang.expressions` is its public face."""
