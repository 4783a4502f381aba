"""Invoices and credit notes as EN 16931 e-invoices: one neutral model read from the rows
(`queries.py` + `mapping.py` -> `model.EInvoice`), written as UN/CEFACT CII (`cii.py`, the
XML Factur-X and ZUGFeRD embed) and as UBL 2.1 (`ubl.py`, Peppol BIS Billing 3.0), served by
`endpoints.py` and embedded into the document PDFs as Factur-X (`facturx.py`)."""
