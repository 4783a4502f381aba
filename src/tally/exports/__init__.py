"""Exports: a merchant's usage events, invoices and invoice lines as Parquet or CSV files, for
their warehouse (`tally export`, `GET /api/exports/...`), written in batches so memory stays
flat whatever the number of rows. `service.write_export` is the core, writing to any binary
sink (a file, an HTTP stream, an object store's output stream); the retention job reuses it."""
