"""A small HTTP server on 127.0.0.1 for one generator: GET / is the page, GET /api/info what it needs to know,
GET /api/image?... a PNG. Bad requests get a 400 with one line of JSON the page shows; no request can ask for more
than MAX_IMAGES images or run longer than TIME_LIMIT_S seconds, and none stops the server.

Images: `view=class` is one row of `n` samples of `class` from the noise of `seed` (truncated at `truncation` when
given): the very grid `acgan sample RUN --classes CLASS --per-class N --seed SEED --out grid.png` writes, less its
margin naming the class (the page names the classes of every view as text beside the image);
`view=style` is `n` noise vectors (rows) across every class (columns), the paper's class-as-style figure;
`view=interp` is `n` steps between the noise of `seed` and of `seed2`, for `class` (spherical interpolation).
"""
from __future__ import annotations

import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlparse

import torch

from ...io import write_png
from ...sampling import noise, slerp

MAX_IMAGES = 256      # images one request may ask for
MAX_N = 64            # samples per row, steps of an interpolation, rows of the style view
TIME_LIMIT_S = 20.0   # a request that takes longer is answered with an error (the generator finishes alone)


class BadRequest(Exception):
    pass


def _int(q: dict, key: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(key, [str(default)])[0]
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{key} must be a whole number, not {raw!r}") from None
    if not lo <= value <= hi:
        raise BadRequest(f"{key} must be between {lo} and {hi}, not {value}")
    return value


class Explorer:
    """The images of one generator, by request parameters; one generation at a time."""

    def __init__(self, G):
        self.G = G
        self.pool = ThreadPoolExecutor(1)
        self.lock = threading.Lock()

    def info(self) -> dict:
        return {"class_names": self.G.class_names, "z_dim": self.G.z_dim, "max_n": MAX_N,
                "max_images": MAX_IMAGES, "step": getattr(self.G, "step", None)}

    def _class(self, q: dict) -> int:
        name = q.get("class", [self.G.class_names[0]])[0]
        if name in self.G.class_names:
            return self.G.class_names.index(name)
        if name.isdigit() and int(name) < self.G.num_classes:
            return int(name)
        raise BadRequest(f"unknown class {name!r}: choose one of {', '.join(self.G.class_names)}")

    def _z(self, n: int, seed: int, truncation: float | None) -> torch.Tensor:
        return noise(n, self.G.z_dim, torch.Generator().manual_seed(seed), truncation)

    def request(self, q: dict) -> tuple[torch.Tensor, int]:
        """(images in [-1, 1], images per row) for the query; BadRequest for anything out of bounds."""
        view = q.get("view", ["class"])[0]
        n, seed = _int(q, "n", 8, 1, MAX_N), _int(q, "seed", 0, 0, 2 ** 31 - 1)
        raw = q.get("truncation", [""])[0]
        try:
            truncation = float(raw) if raw not in ("", "0", "off") else None
        except ValueError:
            raise BadRequest(f"truncation must be a number, not {raw!r}") from None
        if truncation is not None and not 0 < truncation <= 10:
            raise BadRequest(f"truncation must be in (0, 10], or 0 for none, not {truncation}")
        if view == "class":
            c = self._class(q)
            return self.G.sample(torch.full((n,), c), z=self._z(n, seed, truncation)), n
        if view == "style":
            k = self.G.num_classes
            if n * k > MAX_IMAGES:
                raise BadRequest(f"{n} rows x {k} classes is more than {MAX_IMAGES} images: ask for fewer rows")
            z = self._z(n, seed, truncation).repeat_interleave(k, 0)
            return self.G.sample(torch.arange(k).repeat(n), z=z), k
        if view == "interp":
            c, seed2 = self._class(q), _int(q, "seed2", seed + 1, 0, 2 ** 31 - 1)
            a, b = self._z(1, seed, truncation)[0], self._z(1, seed2, truncation)[0]
            ts = torch.linspace(0, 1, n).tolist() if n > 1 else [0.0]
            z = torch.stack([slerp(a, b, t) for t in ts])
            return self.G.sample(torch.full((n,), c), z=z), n
        raise BadRequest(f"unknown view {view!r}: use class, style or interp")

    def png(self, q: dict) -> bytes:
        with self.lock:  # the pool has one worker: requests queue, and a slow one is answered with an error
            future = self.pool.submit(self.request, q)
            try:
                images, per_row = future.result(timeout=TIME_LIMIT_S)
            except TimeoutError:
                raise BadRequest(f"this took more than {TIME_LIMIT_S:.0f} s: ask for fewer images") from None
        buf = io.BytesIO()
        write_png(images, buf, nrow=per_row)
        return buf.getvalue()


def make_server(G, host: str = "127.0.0.1", port: int = 0, log=None) -> ThreadingHTTPServer:
    explorer = Explorer(G)
    page = resources.files(__package__).joinpath("page.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, kind: str):
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (the name http.server calls)
            url = urlparse(self.path)
            query = parse_qs(url.query)
            try:
                if url.path == "/":
                    self._send(200, page, "text/html; charset=utf-8")
                elif url.path == "/api/info":
                    self._send(200, json.dumps(explorer.info()).encode(), "application/json")
                elif url.path == "/api/image":
                    self._send(200, explorer.png(query), "image/png")
                else:
                    self._send(404, json.dumps({"error": f"no page {url.path}"}).encode(), "application/json")
            except BadRequest as e:
                self._send(400, json.dumps({"error": str(e)}).encode(), "application/json")
            except Exception as e:  # a bug must not take the server down: say it on the page
                self._send(500, json.dumps({"error": f"{type(e).__name__}: {e}"}).encode(), "application/json")

        def log_message(self, fmt, *args):
            if log:
                log(f"{self.address_string()} {fmt % args}")

    return ThreadingHTTPServer((host, port), Handler)
