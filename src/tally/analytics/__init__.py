"""Analytics: the figures of the dashboard's home and /api/analytics (MRR and ARR, billed
revenue, cash, receivables aging, overdue invoices, top customers, usage), per currency. Reads
only; sits above payments and the domains it reads (pyproject's layers)."""
