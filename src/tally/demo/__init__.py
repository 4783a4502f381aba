"""The demo `make run` serves: an account with a year of billing history (`story`), its
credentials kept in the data directory (`account`), and the banner printing them (`banner`)."""

from tally.demo.account import DemoUser, load_demo, load_demo_user

__all__ = ["DemoUser", "load_demo", "load_demo_user"]
