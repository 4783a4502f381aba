"""The merchant dashboard: the web app a finance team runs Tally from, under /dashboard.

`users` (merchant users, argon2 passwords), `sessions` (sign-in sessions and their CSRF
secrets), `security` (cookies and headers), `web` (what every page shares: templates,
navigation, the signed-in viewer, CSRF-checked forms, error pages) and `pages` (sign-in,
home, password, API keys; `install_dashboard(app)`). Sections built on it call the same
services as the API.
"""
