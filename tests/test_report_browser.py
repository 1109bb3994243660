"""The report in a real browser (headless Chromium): images decode, no console errors, every section, a screenshot."""
import json
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner

from acgan.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium (make test installs it as root on Debian)")
SECTIONS = ["Per class", "Samples", "Discriminability (paper section 4.1)",
            "Diversity: per-class MS-SSIM (paper section 4.2)", "Joint analysis (paper section 4.3)",
            "Sample quality scores", "Overfitting checks (paper section 4.5)", "Training"]
# collects errors from the first moment (capture phase: failed image loads too), reports after load
PROBE_HEAD = ("<script>window.__errors=[];addEventListener('error',e=>__errors.push(String(e.message||"
              "(e.target&&e.target.alt)||'resource')),true);const ce=console.error;console.error=(...a)=>"
              "{__errors.push(a.join(' '));ce(...a)};</script>")
PROBE_TAIL = ("<script>addEventListener('load',()=>{const im=[...document.images];"
              "const p=document.createElement('pre');p.id='probe';"
              "p.textContent=JSON.stringify({images:im.length,broken:im.filter(i=>!(i.complete&&"
              "i.naturalWidth>0)).map(i=>i.alt),sections:[...document.querySelectorAll('h2')].map(h=>h.textContent),"
              "errors:__errors,firstTableRows:document.querySelector('table').rows.length});"
              "document.body.appendChild(p)});</script>")


def chromium(*args, timeout=120):
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--enable-logging=stderr", "--v=0", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.slow
def test_report_in_headless_chromium(split_data, evaluator_dir, tmp_path):
    run_dir, runner = tmp_path / "run", CliRunner()
    res = runner.invoke(main, ["train", "--dataset", "folder", "--data-dir", str(split_data), "--resolution", "16",
                               "--batch-size", "8", "--steps", "4", "--quiet", "--out", str(run_dir),
                               "--set", "g_width=8", "--set", "d_width=8"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["evaluate", str(run_dir), "--evaluator", str(evaluator_dir), "--per-class", "12",
                               "--real-per-class", "12", "--pairs", "6"])
    assert res.exit_code == 0, res.output
    assert runner.invoke(main, ["report", str(run_dir)]).exit_code == 0
    page = (run_dir / "report.html").read_text()
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("<head>", "<head>" + PROBE_HEAD, 1).replace("</body>", PROBE_TAIL + "</body>"))

    out = chromium("--virtual-time-budget=10000", "--dump-dom", probed.as_uri())
    found = re.search(r'<pre id="probe">(.*?)</pre>', out.stdout, re.S)
    assert found, out.stderr[-2000:]
    probe = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert probe["images"] >= 14 and probe["broken"] == [], probe  # every embedded PNG decodes
    assert probe["errors"] == [] and "CONSOLE" not in out.stderr, probe["errors"]
    assert probe["sections"] == SECTIONS  # every section the README lists, the per-class table first
    assert probe["firstTableRows"] == 4  # header + three classes

    shot = tmp_path / "report.png"  # kept in the test's temp folder to look at
    chromium("--window-size=1200,2600", f"--screenshot={shot}", (run_dir / "report.html").as_uri())
    assert shot.is_file() and shot.stat().st_size > 10_000
