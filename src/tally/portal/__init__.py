"""The customer portal: a branded, read-only view of a customer's invoices, usage and credits.

`access` says who is looking (permanent links, session cookies, session tokens), `sessions`
issues and checks session tokens, `settings` holds each account's portal settings, `security`
sets the response headers every portal response carries. Pages and the portal's JSON API
build on `access.Viewer`.
"""
