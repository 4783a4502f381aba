"""Use cases that span domains: the one place domains meet, so they never import each other in
a circle.

A domain may use a lower domain's services, queries and models; a step that needs a higher one
(an upcoming invoice billed afresh, a credit grant that invoices its cost) lives here. Workflows
import domains; endpoints, the dashboard, jobs and the CLI call workflows; no domain module but
an `endpoints` router imports this package (`make lint` checks it)."""
