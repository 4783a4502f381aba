"""Seats: seat metrics, seat events, balances, and the seat timeline the billing engine reads."""
