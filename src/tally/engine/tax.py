"""Tax rounded once per rate per document, then shared among the rate's lines.

EN 16931 (BR-CO-17, BR-S-09) and Japan's qualified invoices want each rate's tax to be its
taxable amount times the rate, rounded once; lines rounded one by one drift from it (two yen
lines of 15 and 25 at 10 % owe 2 + 3 = 5, the rate 40 x 10 % = 4). So a rate's tax is
round_half_up(sum of its lines' nets x rate), and each line gets its own rounding moved by
whole minor units towards that sum: the lines whose rounding went furthest the other way
(largest remainders) move first, earlier lines first on a tie. Every line stays within one
minor unit of net x rate and the lines add up to the rate's tax exactly; a rate with one
line keeps today's per-line rounding.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from tally.engine.money import ZERO, minor_unit, round_money


def shared_taxes(
    lines: Sequence[tuple[Decimal, Decimal]],
    currency: str,
    fixed: Sequence[Decimal | None] = (),
) -> list[Decimal]:
    """Each line's tax, in order, from its `(net, tax rate)`: nets already rounded to the
    currency's minor unit, lines at rate zero owe none. `fixed`, by position: lines whose
    tax is given (a deduction of tax an earlier invoice charged), left out of their rate's."""
    unit = minor_unit(currency)
    taxes = [ZERO.quantize(unit)] * len(lines)  # "0.00" in cents, as rounding writes it
    by_rate: dict[Decimal, list[int]] = defaultdict(list)
    for i, (_, rate) in enumerate(lines):
        if i < len(fixed) and (given := fixed[i]) is not None:
            taxes[i] = given
        elif rate != 0:
            by_rate[rate].append(i)  # equal rates group together (0.1 == 0.10)
    for rate, members in by_rate.items():
        exact = {i: lines[i][0] * rate for i in members}
        for i in members:
            taxes[i] = round_money(exact[i], currency)
        owed = round_money(sum(exact.values(), ZERO), currency)
        moves = int((owed - sum((taxes[i] for i in members), ZERO)) / unit)
        if moves == 0:
            continue
        step = unit if moves > 0 else -unit
        # Remainder left by each line's rounding, in the direction the rate's tax must move.
        remainder = {i: (exact[i] - taxes[i]) * step for i in members}
        chosen = sorted(members, key=lambda i: (-remainder[i], i))[: abs(moves)]
        for i in chosen:
            taxes[i] += step
    return taxes
