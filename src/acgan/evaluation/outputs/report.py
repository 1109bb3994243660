"""`acgan report`: one self-contained HTML page (images embedded) from metrics.json and the figures."""
from __future__ import annotations

import html
import json
from pathlib import Path

from ...errors import UserError
from ...io import atomic_write_text
from ...metrics.collapse import FAR
from ...rundir import RunDir
from ..verdict import WORDS, accuracy_line, diagnosis, key_figures, paper_comparable
from .html import Raw, html_image, html_page, html_table, html_thumb


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def build_report(run_dir: Path) -> str:
    run = RunDir(run_dir)
    if not run.metrics_path.is_file():
        raise UserError(f"{run.path} has no metrics.json: run `acgan evaluate {run.path}` first")
    m = json.loads(run.metrics_path.read_text())
    run_dir = run.path
    disc, div, jnt = m["discriminability"], m["diversity"], m["joint"]
    names, res, rs = m["class_names"], m["model_resolution"], disc["resolutions"]
    gen_at, real_at = disc["generated"][str(res)], disc["real"][str(res)]
    drawn = m.get("has_generator", m["step"] is not None)  # False for a folder of samples (older files: no key)
    what = f"Checkpoint step {m['step']}" if m["step"] is not None else \
        "A generator given in Python" if drawn else "A folder of samples"
    no_generator = "not made: a folder of samples has no generator to draw from"

    def drawn_image(name: str, caption: str, width: int | None = None) -> str:
        if drawn:
            return html_image(run.figure(name), caption, width)
        return f"<p class=note>({html.escape(caption)}: {no_generator})</p>"

    parts = [f"<h1>AC-GAN report: {html.escape(run_dir.name)}</h1>", _diagnosis(m),
             f"<p>{what}; evaluated {html.escape(m['created'])}; seed {m['seed']}; "
             f"{m['options']['per_class']} samples and up to {m['options']['real_per_class']} real test images per "
             f"class. Evaluator: <code>{html.escape(str(m['evaluator']['path']))}</code>, a classifier trained on "
             f"the real training split, test accuracy {_pct(m['evaluator']['test_accuracy'])}.</p>",
             f"<p><b>Key figures</b>: {html.escape('; '.join([accuracy_line(m)] + key_figures(m)))}.</p>",
             _per_class(m, run),
             "<h2>Samples</h2>", html_image(run.figure("samples"), "one class per row" + (
                 ", the same z down each column" if drawn else "")),
             drawn_image("class_as_style", "one z per row, one class per column (class as style switch)"),
             "<h2>Discriminability (paper section 4.1)</h2>",
             f"<p>Images resized ({html.escape(disc['resize'])}) to each resolution; accuracy of the evaluator, "
             "std over 10 subsets.</p>",
             html_table(["resized to (px)", "real", "real std", "generated", "generated std"],
                    [[r, disc["real"][str(r)]["accuracy"], disc["real"][str(r)]["std"],
                      disc["generated"][str(r)]["accuracy"], disc["generated"][str(r)]["std"]] for r in rs]),
             _paper_line(m, f"Classes more discriminable at {res} px than at {rs[0]} px: "
                         f"{_pct(disc['fraction_classes_better_at_model_than_lowest'])} (paper, ImageNet 128 vs 32 "
                         "px: 84.4%)."),
             html_image(run.figure("discriminability"), "accuracy vs resolution"),
             html_image(run.figure("discriminability_per_class"), "per class: lowest vs model resolution"),
             "<h2>Diversity: per-class MS-SSIM (paper section 4.2)</h2>",
             f"<p>{div['pairs_per_class']} random same-class pairs per class; lower is more diverse. Threshold (the "
             f"least diverse real class): {div['threshold']:.4f}. MS-SSIM rule: "
             f"{html.escape(div['ms_ssim']['small_image_rule'])}.</p>",
             _paper_line(m, f"Generated classes below the threshold: {_pct(div['fraction_classes_below_threshold'])} "
                         f"(paper: 84.7%). Mean std: real {div['mean_std_real']:.3f}, generated "
                         f"{div['mean_std_generated']:.3f} (paper: 0.06 / 0.08)."),
             html_table(["class", "real MS-SSIM", "generated MS-SSIM", "generated std", f"accuracy real @{res}",
                     f"accuracy generated @{res}"],
                    [[n, r["mean"], g["mean"], g["std"], ra, ga] for n, r, g, ra, ga in
                     zip(names, div["real"], div["generated"], real_at["per_class"], gen_at["per_class"])]),
             html_image(run.figure("ms_ssim_scatter"), "real vs generated MS-SSIM per class"),
             "<h2>Joint analysis (paper section 4.3)</h2>",
             _joint_table(m, jnt),
             html_image(run.figure("joint"), "accuracy vs MS-SSIM per class"),
             "<h2>Sample quality scores</h2>", _scores(m),
             "<h2>Overfitting checks (paper section 4.5)</h2>",
             html_image(run.figure("nearest_pixel"),
                        "each row: a sample, then its 5 nearest training images (L1, pixels)", 420),
             html_image(run.figure("nearest_features"), "the same in evaluator-feature space (L1)", 420),
             drawn_image("interpolation_linear", "linear latent interpolation, one class per row", 420),
             drawn_image("interpolation_slerp", "spherical latent interpolation", 420)]
    if run.figure("training_curves").is_file():  # only a run has a training log (not a folder, not an export)
        parts += ["<h2>Training</h2>",
                  html_image(run.figure("training_curves"), "losses, D accuracy, per-class MS-SSIM monitor")]
    return html_page("acgan report", "".join(parts))


def _diagnosis(m: dict) -> str:
    """The opening: the model's word, the accuracy against chance and real data, and the next step."""
    v = m.get("verdict")
    if not v:
        return "<p class=note>(no verdict: this metrics.json predates it; evaluate again)</p>"
    return (f"<p class=verdict><b>Verdict: {html.escape(diagnosis(m))}</b>. "
            f"{html.escape(accuracy_line(m)[:1].upper() + accuracy_line(m)[1:])}.</p>"
            f"<p><b>Next</b>: {html.escape(v['next_step'])}.</p>")


def _paper_line(m: dict, text: str) -> str:
    if paper_comparable(m):
        return f"<p>{html.escape(text)}</p>"
    return ("<p class=note>(The paper's summary figure here is left out: the samples are not recognised as their "
            "classes, and on such a model it reads as success where there is none.)</p>")


def _joint_table(m: dict, jnt: dict) -> str:
    rows = [["Pearson r (accuracy vs MS-SSIM)", jnt["pearson_r"], ""],
            ["r squared", jnt["r_squared"], "reported as -0.16"]]
    chance = (m.get("verdict") or {}).get("chance", 0.0)
    if paper_comparable(m) and jnt["accuracy_threshold"] > chance:
        rows += [[f"diverse classes with accuracy > {_pct(jnt['accuracy_threshold'])}",
                  _pct(jnt["fraction_diverse_above_accuracy"]), "78%"],
                 [f"collapsed classes with accuracy <= {_pct(jnt['accuracy_threshold'])}",
                  _pct(jnt["fraction_collapsed_at_or_below_accuracy"]), "74%"]]
        note = ""
    else:
        note = (f"<p class=note>(The paper's shares of classes above {_pct(jnt['accuracy_threshold'])} accuracy are "
                "left out: that level is not above chance for these classes, or the samples are not recognised as "
                "their classes.)</p>")
    return html_table(["quantity", "this model", "paper (ImageNet)"], rows) + note


def _per_class(m: dict, run: RunDir) -> str:
    """The first thing to look at: each class's accuracy, diversity measures and collapse verdict."""
    cd = m.get("class_diversity")
    if not cd:
        return "<p class=note>(no per-class diversity measures: this metrics.json predates them)</p>"
    res = str(m["model_resolution"])
    disc = m["discriminability"]
    acc, real_acc = disc["generated"][res]["per_class"], disc["real"][res]["per_class"]
    gen_ms, real_ms = m["diversity"]["generated"], m["diversity"]["real"]
    v = m.get("verdict") or {"per_class": {}, "evidence": {}}
    word = [v["per_class"].get(r["class"], "") for r in cd["per_class"]]
    # what needs attention first: not learnt, collapsed, memorised, then good; the least recognised first within each
    order = sorted(range(len(word)), key=lambda c: (WORDS.index(word[c]) if word[c] in WORDS else 0, acc[c]))
    rows = [[r["class"], Raw(f"<b>{html.escape(word[c])}</b>"), v["evidence"].get(r["class"], ""),
             Raw(html_thumb(run.class_strip(c), r["class"])), f"{acc[c]:.0%} / {real_acc[c]:.0%}", variety_cell(r),
             r["distance_ratio"], f"{g['mean']:.3f} / {q['mean']:.3f}", r["intra_fid"], r["recall"], r["coverage"],
             ", ".join(r["fired"]) or "-"]
            for c, r, g, q in ((c, cd["per_class"][c], gen_ms[c], real_ms[c]) for c in order)]
    levels = cd["levels"]
    note = (f"<p class=note>Chance is {_pct(v.get('chance'))}. Collapsed = every validated measure "
            f"({', '.join(cd['validated'])}) fires and the samples still sit on real data (at least "
            f"{FAR['near']:.0%} of them as near a real image as real images are to each other); missing real variety "
            "far from real data is not learnt. "
            "Rules: recall "
            f"or coverage below {cd['rules']['recall'][1]}, intra-FID above {levels['intra_fid']:.2f} "
            f"({cd['intra_fid_multiple']:g}x the "
            "largest FID between two halves of a real class), distance ratio below "
            f"{cd['rules']['distance_ratio'][1]}, MS-SSIM above the least diverse real class. Features: "
            f"{html.escape(cd['network'])}; {cd['samples_per_class']} samples per class. Variety: the lowest of "
            "recall and coverage, each divided by what real training images get against the same real images, in "
            "the evaluator's features and in 14 px pixels (range in brackets; 1 = as varied as real data). See "
            "acgan's docs/results/diversity.md for which measures passed validation.</p>")
    return ("<h2>Per class</h2>" + html_table(
        ["class", "verdict", "evidence", "samples", f"accuracy @{res} gen / real", "variety vs real",
         "distance ratio", "MS-SSIM gen / real", "intra-FID", "recall", "coverage", "fired"], rows) + note)


def variety_cell(row: dict) -> str:
    """'0.54 [0.54-0.81]': the lowest ratio to real data's own level, and the range over spaces and measures."""
    if "vs_real" not in row:
        return "-"
    highest = max(v for space in row["vs_real"].values() for v in space.values())
    return f"{row['variety']:.2f} [{row['variety']:.2f}-{highest:.2f}]"


def _scores(m: dict) -> str:
    rows = []
    for label, d in (("evaluator (domain)", m["domain_metrics"]), ("Inception (TF 2015)", m["inception"])):
        if "skipped" in d:
            rows.append([label, "skipped: " + d["skipped"], "", "", "", "", ""])
        else:
            rows.append([label, f"{d['inception_score']:.3f} ± {d['inception_score_std']:.3f}", d["fid"],
                         f"{d['kid']:.5f} ± {d['kid_std']:.5f}", d["precision"], d["recall"], d["samples"]])
        if "pixels" in d:
            p = d["pixels"]
            rows.append([f"{p['space']} (domain)", "-", p["fid"], f"{p['kid']:.5f} ± {p['kid_std']:.5f}",
                         p["precision"], p["recall"], p["samples"]])
    note = ("<p class=note>Only the Inception row, computed with the TF-compatible 2015 weights on CIFAR-10-like "
            "protocols (50k samples, 10 splits), is comparable with published numbers; the evaluator row uses our "
            "domain classifier and the pixels row downsampled images (no network: what a classifier ignores counts "
            "there), and both compare models of this data set only, at equal sample counts.</p>")
    return html_table(["network", "IS", "FID", "KID", "precision", "recall", "samples"], rows) + note


def write_report(run_dir: Path, out: Path | None = None) -> Path:
    out = Path(out) if out else Path(run_dir) / "report.html"
    atomic_write_text(out, build_report(run_dir))
    return out
