"""Pure billing logic: periods, pricing, seats, invoice assembly.

No database, no I/O, no clock: everything it needs comes in as arguments, so every rule here
is tested with plain values (and hypothesis). The rest of Tally may import this package; it
imports nothing from the rest of Tally.
"""
