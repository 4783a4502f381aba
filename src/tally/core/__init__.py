"""The bottom layer: imports nothing else in Tally.

Helpers every layer shares (money rounding, formatting for people), built on the standard
library and Babel only, so any module may import them without a cycle."""
