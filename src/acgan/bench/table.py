"""Plain-text tables of `acgan bench` results, with the ratios the targets are stated in."""
from __future__ import annotations


def format_results(r: dict) -> str:
    lines = [f"device: {r['device_name']}, {r['threads']} threads, torch {r['torch']}", "",
             "training (images/s; baseline = the usual fp32 public loop on the same model and batch)",
             f"{'arch':12s} {'batch':>5s} {'baseline':>9s} {'ours':>9s} {'ratio':>6s} {'ours MFU':>8s} "
             f"{'peak MB b/o':>13s}"]
    by_key = {(t["arch"], t["batch"], t["loop"]): t for t in r["train"]}
    for (arch, batch, loop), t in by_key.items():
        if loop != "ours":
            continue
        base = by_key[(arch, batch, "baseline")]
        mem = "peak_memory_mb" if "peak_memory_mb" in t else "peak_rss_mb"
        lines.append(f"{arch:12s} {batch:5d} {base['images_per_s']:9.1f} {t['images_per_s']:9.1f} "
                     f"{t['images_per_s'] / base['images_per_s']:5.2f}x {t['mfu']:8.1%} "
                     f"{base[mem]:6.0f}/{t[mem]:<6.0f}")
    ours = [t for t in r["train"] if t["loop"] == "ours"]
    if ours:
        t = ours[0]
        lines.append(f"  (MFU = achieved FLOP/s / measured {t['precision']} matmul peak "
                     f"{t['matmul_peak_flops'] / 1e9:.0f} GFLOP/s)")
    lines += ["", "MS-SSIM (pairs/s)"]
    for m in r["ms_ssim"]:
        ref = f", pytorch-msssim {m['pytorch_msssim_pairs_per_s']:.1f} ({m['ratio']:.2f}x)" \
            if "ratio" in m else ""
        lines.append(f"  {m['px']:3d} px x{m['channels']}: ours {m['ours_pairs_per_s']:.1f}{ref}")
    lines += ["", "feature networks (images/s)"]
    for f in r["features"]:
        lines.append(f"  {f['network']:32s} {f['precision']:5s} {f['images_per_s']:9.1f}")
    mon = r["monitor"]
    lines += ["", f"collapse monitor: {mon['check_s'] * 1e3:.1f} ms per check every {mon['monitor_every']} steps of "
              f"{mon['step_s'] * 1e3:.1f} ms = {mon['share']:.2%} of training time"]
    return "\n".join(lines)
