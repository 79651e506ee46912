"""A replica of the Hugging Face hub's HTTP API, enough for huggingface_hub 2.4's downloads.

Serves ``ROOT/<org>/<name>/<revision>/<files>`` where ``<revision>`` is ``main`` or
``refs/pr/<N>``. What the client uses (read from its source):

- ``GET /api/models/<id>[/revision/<rev>]``: ``sha`` and ``siblings`` (``model_info``,
  ``repo_info``; ``<rev>`` may be URL-encoded, ``refs%2Fpr%2F13``, or a commit);
- ``GET /api/models/<id>/tree/<rev>?recursive=…``: the file listing, with ``lfs`` (sha256)
  for large files;
- ``HEAD``/``GET /<id>/resolve/<rev>/<path>``: ``X-Repo-Commit``, ``ETag`` (git blob id) or
  ``X-Linked-Etag`` (sha256, large files), ``Content-Length``/``X-Linked-Size``, ``Range``;
  no ``X-Xet-Hash``, so files come over plain HTTP;
- ``GET /api/models/<id>/discussions`` and ``…/discussions/<N>``: every ``refs/pr/<N>`` is an
  open PR by ``SFconvertbot`` titled "Adding `safetensors` variant of this model".

A repo folder holding a file ``.gated`` answers 401 (gated); a missing repo answers 404.
For tests, :class:`FakeHub` records every request and can drop the connection mid-file.

Standalone: ``python -m tests.support.fakehub ROOT --port N`` (each request line is logged to stderr).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

PR_AUTHOR = "SFconvertbot"
PR_TITLE = "Adding `safetensors` variant of this model"
LFS_THRESHOLD = 10_000  # files at least this big are served as LFS files, as the hub does for weights
_CREATED = "2024-01-01T00:00:00.000Z"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Drop:
    """Close the connection after ``at`` bytes of ``filename``, ``times`` times (then serve it whole)."""

    filename: str
    at: int
    times: int = 1


@dataclass
class FakeHub:
    root: Path
    requests: list[str] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # "<repo>/<file>" -> body bytes served
    delay: float = 0.0  # seconds to wait before answering any request
    gated: set[str] = field(default_factory=set)  # repos answering 401 (besides those holding .gated)
    quiet: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- repository layout -------------------------------------------------------------
    def revisions(self, repo: str) -> dict[str, Path]:
        base = self.root / repo
        found: dict[str, Path] = {}
        if (base / "main").is_dir():
            found["main"] = base / "main"
        prs = base / "refs" / "pr"
        for pr in sorted(prs.iterdir(), key=lambda p: int(p.name)) if prs.is_dir() else []:
            found[f"refs/pr/{pr.name}"] = pr
        return found

    def commit(self, folder: Path) -> str:
        digest = hashlib.sha1(str(folder.relative_to(self.root)).encode())
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                digest.update(f"{path.relative_to(folder)}\0{path.stat().st_size}\0{path.stat().st_mtime_ns}".encode())
        return digest.hexdigest()

    def lookup(self, repo: str, revision: str) -> tuple[str, Path] | None:
        revision = unquote(revision)
        for name, folder in self.revisions(repo).items():
            if revision in (name, self.commit(folder)):
                return self.commit(folder), folder
        return None

    @staticmethod
    def files(folder: Path) -> list[Path]:
        return sorted(p for p in folder.rglob("*") if p.is_file())

    def take_drop(self, filename: str) -> Drop | None:
        with self.lock:
            for drop in self.drops:
                if drop.filename == filename and drop.times > 0:
                    drop.times -= 1
                    return drop
        return None

    # -- serving -----------------------------------------------------------------------
    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        hub = self

        class Handler(_Handler):
            fake = hub

        server = _Server(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that went away is no error here
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # _record logs each request line instead

    def _record(self) -> None:
        extra = f" Range={self.headers['Range']}" if self.headers.get("Range") else ""
        with self.fake.lock:
            self.fake.requests.append(f"{self.command} {self.path}{extra}")
        if not self.fake.quiet:
            sys.stderr.write(f"fakehub: {self.command} {self.path}{extra}\n")

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if "Content-Length" not in (headers or {}):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _error(self, status: int, code: str, message: str, commit: str | None = None) -> None:
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        if commit:
            headers["X-Repo-Commit"] = commit
        self._json({"error": message}, status, headers)

    def _repo_or_error(self, repo: str) -> bool:
        if not self.fake.revisions(repo):
            self._error(404, "RepoNotFound", "Repository not found")
            return False
        gated = repo in self.fake.gated or (self.fake.root / repo / ".gated").exists()
        if gated and not self.headers.get("Authorization"):
            self._error(401, "GatedRepo", "Access to this model is restricted: you must be authenticated.")
            return False
        return True

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._record()
        if self.fake.delay:
            time.sleep(self.fake.delay)
        path = urlsplit(self.path).path
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/(revision|tree|discussions)(?:/(.*))?)?", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+|refs%2Fpr%2F\d+)/(.+)", path)
        if api:
            repo, kind, rest = api.group(1), api.group(2), api.group(3) or ""
            if not self._repo_or_error(repo):
                return
            if kind in (None, "revision"):
                self._info(repo, rest or "main")
            elif kind == "tree":
                self._tree(repo, rest)
            else:
                self._discussions(repo, rest)
        elif resolve:
            if self._repo_or_error(resolve.group(1)):
                self._resolve(resolve.group(1), resolve.group(2), unquote(resolve.group(3)))
        else:
            self._error(404, "NotFound", f"no route for {path}")

    def _info(self, repo: str, revision: str) -> None:
        found = self.fake.lookup(repo, revision)
        if found is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(revision)}")
            return
        commit, folder = found
        siblings = [{"rfilename": str(p.relative_to(folder))} for p in self.fake.files(folder)]
        self._json(
            {
                "_id": commit[:24],
                "id": repo,
                "modelId": repo,
                "sha": commit,
                "private": False,
                "gated": False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": _CREATED,
                "createdAt": _CREATED,
                "siblings": siblings,
            }
        )

    def _tree(self, repo: str, rest: str) -> None:
        found = self.fake.lookup(repo, rest.split("/")[0])
        if found is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(rest)}")
            return
        _, folder = found
        entries = []
        for path in self.fake.files(folder):
            data = path.read_bytes()
            entry: dict[str, Any] = {
                "type": "file",
                "path": str(path.relative_to(folder)),
                "size": len(data),
                "oid": git_blob_id(data),
            }
            if len(data) >= LFS_THRESHOLD:
                entry["lfs"] = {"oid": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
            entries.append(entry)
        self._json(entries)

    def _pr_numbers(self, repo: str) -> list[int]:
        return sorted(
            (int(r.rsplit("/", 1)[1]) for r in self.fake.revisions(repo) if r.startswith("refs/pr/")), reverse=True
        )

    def _discussion(self, repo: str, num: int) -> dict[str, Any]:
        return {
            "num": num,
            "title": PR_TITLE,
            "status": "open",
            "isPullRequest": True,
            "author": {"name": PR_AUTHOR, "type": "user"},
            "createdAt": _CREATED,
            "repo": {"name": repo, "type": "model"},
            "numComments": 1,
            "pinned": False,
        }

    def _discussions(self, repo: str, rest: str) -> None:
        if rest:
            num = int(rest) if rest.isdigit() else -1
            if num not in self._pr_numbers(repo):
                self._error(404, "EntryNotFound", "Discussion not found")
                return
            details = self._discussion(repo, num)
            details.update(
                {
                    "events": [],
                    "changes": {"base": "refs/heads/main"},
                    "filesWithConflicts": [],
                    "diff": "",
                }
            )
            self._json(details)
            return
        found = [self._discussion(repo, n) for n in self._pr_numbers(repo)]
        self._json({"discussions": found, "count": len(found), "start": 0, "numClosedDiscussions": 0})

    def _resolve(self, repo: str, revision: str, filename: str) -> None:
        found = self.fake.lookup(repo, revision)
        if found is None:
            self._error(404, "RevisionNotFound", f"Invalid rev id: {unquote(revision)}")
            return
        commit, folder = found
        path = folder / filename
        if not path.is_file() or folder not in path.resolve().parents:
            self._error(404, "EntryNotFound", f"{filename} does not exist at {revision}", commit)
            return
        data = path.read_bytes()
        headers = {"X-Repo-Commit": commit, "Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        if len(data) >= LFS_THRESHOLD:
            headers["X-Linked-Etag"] = f'"{hashlib.sha256(data).hexdigest()}"'
            headers["X-Linked-Size"] = str(len(data))
        headers["ETag"] = f'"{git_blob_id(data)}"'
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if ranged and self.command == "GET":
            start = int(ranged.group(1))
            if start >= len(data):
                self._send(416, b"", {"Content-Range": f"bytes */{len(data)}", **headers})
                return
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        drop = self.fake.take_drop(filename) if self.command == "GET" else None
        if drop is not None:
            cut = max(0, drop.at - start)
            self.send_response(206 if start else 200)
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self._count(f"{repo}/{filename}", cut)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(206 if start else 200, body, headers)
        if self.command == "GET":
            self._count(f"{repo}/{filename}", len(body))

    def _count(self, filename: str, size: int) -> None:
        with self.fake.lock:
            self.fake.sent[filename] = self.fake.sent.get(filename, 0) + size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.fakehub", description="A replica of the hub's HTTP API."
    )
    parser.add_argument("root", type=Path, help="folder laid out as <org>/<name>/<revision>/<files>")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)
    hub = FakeHub(args.root.resolve(), quiet=False)
    server = hub.serve(args.port)
    sys.stderr.write(f"fakehub: serving {hub.root} on http://127.0.0.1:{server.server_address[1]}\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
