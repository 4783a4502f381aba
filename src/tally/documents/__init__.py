"""Documents: invoices and credit notes rendered as HTML (the portal) and PDF (downloads,
email attachments), and the portal links they print."""
