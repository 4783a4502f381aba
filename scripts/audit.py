"""`make audit`: pip-audit over the locked dependencies (uv.lock, dev extras included).

Known vulnerabilities fail the build. pip-audit needs the network to read them (PyPI's JSON
API); where that is refused it skips every package and, left alone, would pass in silence. So
this says loudly what was not audited and passes, unless TALLY_AUDIT_REQUIRED=1 (set it where
CI has the network: then an audit that could not run fails the build too).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent


def main() -> int:
    required = os.environ.get("TALLY_AUDIT_REQUIRED") == "1"
    with tempfile.TemporaryDirectory() as scratch:
        requirements = Path(scratch) / "requirements.txt"
        export = [BIN / "uv", "export", "--frozen", "--no-hashes", "--extra", "dev"]
        export += ["--no-emit-project", "--format", "requirements-txt", "-o", str(requirements)]
        subprocess.run(export, check=True, capture_output=True)  # noqa: S603 - our own tools
        command = [BIN / "pip-audit", "-r", str(requirements), "--no-deps", "--disable-pip"]
        command += ["--format", "json", "--progress-spinner", "off", "--timeout", "10"]
        audit = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    try:
        report = json.loads(audit.stdout)
    except json.JSONDecodeError:
        print(f"pip-audit did not run:\n{audit.stderr.strip()}", file=sys.stderr)
        return 2 if required else 0
    packages = report.get("dependencies", [])
    vulnerable = [p for p in packages if p.get("vulns")]
    skipped = [p for p in packages if p.get("skip_reason")]
    for package in vulnerable:
        for vuln in package["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            print(f"{package['name']} {package['version']}: {vuln['id']} (fixed in {fixed})")
    if vulnerable:
        print(f"pip-audit: {len(vulnerable)} vulnerable packages", file=sys.stderr)
        return 1
    audited = len(packages) - len(skipped)
    if skipped:
        print(
            f"pip-audit: WARNING: {len(skipped)} of {len(packages)} packages NOT audited "
            f"(no vulnerability data reachable: {skipped[0]['skip_reason']})",
            file=sys.stderr,
        )
        if required:
            return 2
    if audited:
        print(f"pip-audit: {audited} packages audited, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
