"""Factur-X / ZUGFeRD: a PDF/A-3 with the document's CII XML embedded as `factur-x.xml`
(profile EN 16931) and the XMP metadata that says so, written by the `factur-x` package."""

from __future__ import annotations

# WeasyPrint's variant for the page: PDF/A-3b admits embedded files (PDF/A-1 and -2 do not).
PDF_VARIANT = "pdf/a-3b"
FILENAME = "factur-x.xml"


def factur_x_pdf(pdf: bytes, xml: bytes) -> bytes:
    """`pdf` (a PDF/A-3b) with `xml` embedded as Factur-X EN 16931. The XML was checked
    against the XSD when it was written (`cii.cii_xml`), so it is not checked again."""
    from facturx import generate_from_binary  # noqa: PLC0415  (pypdf: only PDFs need it)

    result: bytes = generate_from_binary(
        pdf, xml, flavor="factur-x", level="en16931", check_xsd=False, lang="en"
    )
    return result
