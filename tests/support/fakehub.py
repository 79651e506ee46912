"""A replica of the Hugging Face hub's HTTP API, as strict as the real one where nl2en meets it.

Serves ``ROOT/<org>/<name>/<revision>/<files>`` where ``<revision>`` is ``main`` or
``refs/pr/<N>``, on two loopback ports: the hub itself and a CDN (another origin, as
``cas-bridge.xethub.hf.co`` is for huggingface.co). What huggingface_hub 2.4 uses (read from
its source) and what the real hub does (``shared/reference/hub-layouts.md``):

- ``GET /api/models/<id>[/revision/<rev>]``: ``sha``, ``siblings`` and ``gated`` (``<rev>`` may
  be URL-encoded, ``refs%2Fpr%2F13``, or a commit);
- ``GET /api/models/<id>/tree/<rev>``: the file listing with ``lfs`` (sha256) for large files,
  ``tree_page`` entries a page, the next page named by a ``Link: <…?cursor=N>; rel="next"`` header;
- ``HEAD``/``GET /<id>/resolve/<rev>/<path>``: small files inline (``X-Repo-Commit``, ``ETag``,
  ``Range``); large files (at least ``LFS_THRESHOLD`` bytes) answer 302 to a signed CDN link
  with ``X-Linked-Etag`` (sha256) and ``X-Linked-Size``; no ``X-Xet-Hash``, so plain HTTP;
- the CDN serves a link until it expires (``link_ttl`` seconds, or at once after a :class:`Drop`
  with ``expire_link``): then 403 ``Request has expired``; a request carrying an
  ``Authorization`` header gets 400 (a signed link admits no second credential);
- ``GET /api/models/<id>/discussions[?type=&status=&author=&p=]``: filtered, ``discussion_page``
  a page (``count``/``start`` in the body, which the client reads, and a ``Link`` header); every
  ``refs/pr/<N>`` folder is an open PR by ``SFconvertbot`` titled "Adding `safetensors` variant
  of this model" unless the repo's ``discussions.json`` says otherwise; it may also list plain
  discussions and other people's PRs. A repo holding ``.discussions-disabled`` answers 403.

Access, as the hub answers it: a missing repo (or a ``.private`` one the token may not read)
gets 401 ``RepoNotFound`` without a token and 404 with one. A gated repo (``.gated`` in its
folder, or named in ``gated``) lists its files to anyone but refuses ``/resolve`` with 401
``GatedRepo`` without a token and 403 with a token not in ``granted``.

For tests, :class:`FakeHub` records every request (``METHOD path`` and the ``Range``), counts the
body bytes served per file, can drop a connection mid-file (:class:`Drop`) and can answer chosen
requests with an error or after a stall (:class:`Fault`).

Standalone: ``python -m tests.support.fakehub ROOT --port N`` (each request line is logged to stderr).
"""

from __future__ import annotations

import argparse
import calendar
import hashlib
import hmac
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

PR_AUTHOR = "SFconvertbot"
PR_TITLE = "Adding `safetensors` variant of this model"
LFS_THRESHOLD = 10_000  # files at least this big are served as LFS files, as the hub does for weights
GRANTED_TOKEN = "hf_replica_token"  # a token whose account was granted every gated and private replica
_CREATED = "2024-01-01T00:00:00.000Z"
_AMZ_DATE = "%Y%m%dT%H%M%SZ"


def git_blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Drop:
    """Close the connection after ``at`` bytes of ``filename``, ``times`` times (then serve it whole).

    ``expire_link``: the signed CDN link in use expires with the cut, as an hour-old link does
    when a long download has to reconnect.
    """

    filename: str
    at: int
    times: int = 1
    expire_link: bool = False


@dataclass
class Fault:
    """Answer requests matching ``pattern`` (a regex searched in ``"METHOD /path?query"``) ``times`` times.

    After ``delay`` seconds, with ``status`` (and ``code``/``message`` as ``X-Error-Code``/
    ``X-Error-Message``, plus ``headers``); ``status`` 0 only delays, then answers normally.
    """

    pattern: str
    status: int = 0
    times: int = 1
    delay: float = 0.0
    code: str = ""
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeHub:
    root: Path
    requests: list[str] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # "<repo>/<file>" -> body bytes served
    delay: float = 0.0  # seconds to wait before answering any request
    gated: set[str] = field(default_factory=set)  # gated repos besides those holding .gated
    granted: set[str] = field(default_factory=lambda: {GRANTED_TOKEN})  # tokens with access to gated/private repos
    tree_page: int = 4  # the real hub sends 1,000 entries a page: small pages make pagination matter here
    discussion_page: int = 1  # the real hub: 50; one a page makes every listing with two entries paginate
    link_ttl: float = 3600.0  # seconds a signed CDN link stays valid (X-Amz-Expires)
    expired: set[str] = field(default_factory=set)  # signatures of links expired early (Drop.expire_link)
    quiet: bool = True
    lock: threading.Lock = field(default_factory=threading.Lock)
    secret: bytes = b"fakehub-cdn-secret"
    servers: list[ThreadingHTTPServer] = field(default_factory=list)
    blobs: dict[str, Path] = field(default_factory=dict)  # sha256 -> file, for the CDN

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

    def is_gated(self, repo: str) -> bool:
        return repo in self.gated or (self.root / repo / ".gated").exists()

    def take(self, items: list[Any], match: Any) -> Any:
        """The first item ``match`` accepts that has ``times`` left, one use spent; else None."""
        with self.lock:
            for item in items:
                if item.times > 0 and match(item):
                    item.times -= 1
                    return item
        return None

    def fetched(self, repo: str) -> set[str]:
        """Names of the files of ``repo`` whose contents were asked for (GET on resolve or on the CDN)."""
        names = set()
        for line in self.requests:
            method, _, rest = line.partition(" ")
            path = rest.split(" ")[0].split("?")[0]
            for marker in (f"/{repo}/resolve/", f"/cdn/{repo}/"):
                if method == "GET" and path.startswith(marker):
                    names.add(unquote(path[len(marker) :].split("/", 1)[1]))
        return names

    # -- signed CDN links ----------------------------------------------------------------
    def sign(self, path: str, date: str, expires: int) -> str:
        return hmac.new(self.secret, f"{path}\n{date}\n{expires}".encode(), hashlib.sha256).hexdigest()

    def cdn_link(self, host: str, repo: str, path: Path, sha256: str) -> str:
        with self.lock:
            self.blobs[sha256] = path
        link = f"/cdn/{repo}/{sha256}/{quote(path.name)}"
        date = time.strftime(_AMZ_DATE, time.gmtime())
        expires = int(self.link_ttl)
        query = {"X-Amz-Date": date, "X-Amz-Expires": expires, "X-Amz-Signature": self.sign(link, date, expires)}
        return f"http://{host}{link}?{urlencode(query)}"

    # -- serving -----------------------------------------------------------------------
    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        """Start the hub on ``port`` (0: any free one) and its CDN on another; returns the hub's server."""
        hub = self

        class HubHandler(_HubHandler):
            fake = hub

        class CdnHandler(_CdnHandler):
            fake = hub

        for handler, wanted in ((HubHandler, port), (CdnHandler, 0)):
            server = _Server(("127.0.0.1", wanted), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
        return self.servers[0]

    @property
    def port(self) -> int:
        return int(self.servers[0].server_address[1])

    @property
    def cdn_port(self) -> int:
        return int(self.servers[1].server_address[1])

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()
        self.servers.clear()


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
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        if commit:
            headers["X-Repo-Commit"] = commit
        self._json({"error": message}, status, headers)

    def _token(self) -> str | None:
        value = self.headers.get("Authorization", "")
        return value.split(" ", 1)[1].strip() if value.lower().startswith("bearer ") else None

    def _begin(self) -> bool:
        """Record the request, wait as told, apply a matching fault; False when it was answered."""
        self._record()
        if self.fake.delay:
            time.sleep(self.fake.delay)
        line = f"{self.command} {self.path}"
        fault = self.fake.take(self.fake.faults, lambda f: re.search(f.pattern, line) is not None)
        if fault is None:
            return True
        time.sleep(fault.delay)
        if not fault.status:
            return True
        headers = {"X-Error-Message": fault.message or "fault", **fault.headers}
        if fault.code:
            headers["X-Error-Code"] = fault.code
        self._json({"error": fault.message or "fault"}, fault.status, headers)
        return False

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if self._begin():
            self._route(urlsplit(self.path).path)

    def _route(self, path: str) -> None:
        raise NotImplementedError

    def _body(self, key: str, filename: str, data: bytes, headers: dict[str, str], expire: str | None = None) -> None:
        """Serve ``data`` whole or from a ``Range: bytes=N-``, dropping the connection as a Drop says."""
        start = 0
        ranged = re.fullmatch(r"bytes=(\d+)-", self.headers.get("Range", ""))
        if ranged and self.command == "GET":
            start = int(ranged.group(1))
            if start >= len(data):
                self._send(416, b"", {"Content-Range": f"bytes */{len(data)}", **headers})
                return
        body = data[start:]
        headers = {**headers, "Accept-Ranges": "bytes", "Content-Length": str(len(body))}
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        drop = self.fake.take(self.fake.drops, lambda d: d.filename == filename) if self.command == "GET" else None
        if drop is not None:
            cut = max(0, drop.at - start)
            self.send_response(206 if start else 200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self._count(key, cut)
            if drop.expire_link and expire:
                with self.fake.lock:
                    self.fake.expired.add(expire)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(206 if start else 200, body, headers)
        if self.command == "GET":
            self._count(key, len(body))

    def _count(self, key: str, size: int) -> None:
        with self.fake.lock:
            self.fake.sent[key] = self.fake.sent.get(key, 0) + size


class _HubHandler(_Handler):
    """huggingface.co: the API and ``/resolve``."""

    def _visible(self, repo: str) -> bool:
        """Answer 401/404 ``RepoNotFound`` (as the hub does) unless ``repo`` exists for this caller."""
        private = (self.fake.root / repo / ".private").exists() and self._token() not in self.fake.granted
        if self.fake.revisions(repo) and not private:
            return True
        if self._token() is None:  # the hub does not tell anonymous callers whether a repo exists
            self._error(401, "RepoNotFound", "Repository not found")
        else:
            self._error(404, "RepoNotFound", "Repository not found")
        return False

    def _route(self, path: str) -> None:
        api = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/(revision|tree|discussions)(?:/(.*))?)?", path)
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+|refs%2Fpr%2F\d+)/(.+)", path)
        if api:
            repo, kind, rest = api.group(1), api.group(2), api.group(3) or ""
            if not self._visible(repo):
                return
            if kind in (None, "revision"):
                self._info(repo, rest or "main")
            elif kind == "tree":
                self._tree(repo, rest)
            else:
                self._discussions(repo, rest)
        elif resolve:
            repo = resolve.group(1)
            if self._visible(repo) and self._may_download(repo):
                self._resolve(repo, resolve.group(2), unquote(resolve.group(3)))
        else:
            self._error(404, "", f"no route for {path}")

    def _may_download(self, repo: str) -> bool:
        if not self.fake.is_gated(repo) or self._token() in self.fake.granted:
            return True
        if self._token() is None:
            self._error(401, "GatedRepo", "Access to this model is restricted: you must be authenticated.")
        else:
            self._error(403, "GatedRepo", "Access to this model is restricted and you are not in the authorized list.")
        return False

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
                "private": (self.fake.root / repo / ".private").exists(),
                "gated": "manual" if self.fake.is_gated(repo) else False,
                "disabled": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "lastModified": _CREATED,
                "createdAt": _CREATED,
                "siblings": siblings,
            }
        )

    def _next_link(self, params: dict[str, str]) -> dict[str, str]:
        path = urlsplit(self.path).path
        return {"Link": f'<http://{self.headers["Host"]}{path}?{urlencode(params)}>; rel="next"'}

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
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        start = int(query.get("cursor", "0") or 0)
        end = start + self.fake.tree_page
        headers = self._next_link({**query, "cursor": str(end)}) if end < len(entries) else {}
        self._json(entries[start:end], headers=headers)

    def _discussion_list(self, repo: str) -> list[dict[str, Any]]:
        """Every discussion and PR: ``discussions.json`` entries, then each PR folder it does not name."""
        listed_file = self.fake.root / repo / "discussions.json"
        listed = json.loads(listed_file.read_text(encoding="utf-8")) if listed_file.is_file() else []
        known = {int(d["num"]) for d in listed}
        for name in self.fake.revisions(repo):
            if name.startswith("refs/pr/") and int(name.rsplit("/", 1)[1]) not in known:
                num = int(name.rsplit("/", 1)[1])
                listed.append({"num": num, "title": PR_TITLE, "author": PR_AUTHOR, "isPullRequest": True})
        return sorted(
            (
                {
                    "num": int(d["num"]),
                    "title": d.get("title", PR_TITLE),
                    "status": d.get("status", "open"),
                    "isPullRequest": bool(d.get("isPullRequest", True)),
                    "author": {"name": d.get("author", PR_AUTHOR), "type": "user"},
                    "createdAt": _CREATED,
                    "repo": {"name": repo, "type": "model"},
                    "numComments": 1,
                    "pinned": False,
                }
                for d in listed
            ),
            key=lambda d: -d["num"],  # newest first, as the hub lists them
        )

    def _discussions(self, repo: str, rest: str) -> None:
        if (self.fake.root / repo / ".discussions-disabled").exists():
            self._error(403, "", "Discussions are disabled for this repo")
            return
        everything = self._discussion_list(repo)
        if rest:
            found = [d for d in everything if str(d["num"]) == rest]
            if not found:
                self._error(404, "", "Discussion not found")
                return
            details = dict(found[0])
            details.update({"events": [], "changes": {"base": "refs/heads/main"}, "filesWithConflicts": [], "diff": ""})
            self._json(details)
            return
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        kind, status, author = query.get("type", "all"), query.get("status", "all"), query.get("author")
        chosen = [
            d
            for d in everything
            if (kind == "all" or d["isPullRequest"] == (kind == "pull_request"))
            and (status == "all" or d["status"] == status)
            and (author is None or d["author"]["name"] == author)
        ]
        page = int(query.get("p", "0") or 0)
        start = page * self.fake.discussion_page
        shown = chosen[start : start + self.fake.discussion_page]
        more = start + len(shown) < len(chosen)
        headers = self._next_link({**query, "p": str(page + 1)}) if more else {}
        closed = sum(1 for d in everything if d["status"] != "open")
        body = {"discussions": shown, "count": len(chosen), "start": start, "numClosedDiscussions": closed}
        self._json(body, headers=headers)

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
        headers = {
            "X-Repo-Commit": commit,
            "ETag": f'"{git_blob_id(data)}"',
            "Content-Type": "application/octet-stream",
        }
        if len(data) >= LFS_THRESHOLD:  # an LFS file: its bytes live on the CDN
            sha256 = hashlib.sha256(data).hexdigest()
            cdn = f"127.0.0.1:{self.fake.cdn_port}"
            headers.update(
                {
                    "X-Linked-Etag": f'"{sha256}"',
                    "X-Linked-Size": str(len(data)),
                    "Location": self.fake.cdn_link(cdn, repo, path, sha256),
                }
            )
            self._send(302, b"", headers)
            return
        self._body(f"{repo}/{filename}", filename, data, headers)


class _CdnHandler(_Handler):
    """The CDN: signed links only, no second credential, expiring."""

    def _refuse(self, status: int, code: str, message: str) -> None:
        body = f"<Error><Code>{code}</Code><Message>{message}</Message></Error>".encode()
        self._send(status, body, {"Content-Type": "application/xml"})

    def _route(self, path: str) -> None:
        match = re.fullmatch(r"/cdn/([^/]+/[^/]+)/([0-9a-f]{64})/([^/]+)", path)
        if match is None:
            self._refuse(404, "NoSuchKey", "The specified key does not exist.")
            return
        if self.headers.get("Authorization"):
            self._refuse(400, "InvalidArgument", "Only one auth mechanism allowed")
            return
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        date, signature = query.get("X-Amz-Date", ""), query.get("X-Amz-Signature", "")
        try:
            expires = int(query.get("X-Amz-Expires", ""))
            issued = calendar.timegm(time.strptime(date, _AMZ_DATE))
        except ValueError:
            self._refuse(403, "AccessDenied", "Query-string authentication requires a signature")
            return
        if not hmac.compare_digest(signature, self.fake.sign(path, date, expires)):
            self._refuse(403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
            return
        if time.time() > issued + expires or signature in self.fake.expired:
            self._refuse(403, "AccessDenied", "Request has expired")
            return
        repo, sha256, name = match.group(1), match.group(2), unquote(match.group(3))
        blob = self.fake.blobs.get(sha256)
        if blob is None:
            self._refuse(404, "NoSuchKey", "The specified key does not exist.")
            return
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
            "ETag": f'"{sha256}"',
        }
        self._body(f"{repo}/{name}", name, blob.read_bytes(), headers, expire=signature)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.fakehub", description="A replica of the hub's HTTP API."
    )
    parser.add_argument("root", type=Path, help="folder laid out as <org>/<name>/<revision>/<files>")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)
    hub = FakeHub(args.root.resolve(), quiet=False)
    hub.serve(args.port)
    sys.stderr.write(f"fakehub: serving {hub.root} on http://127.0.0.1:{hub.port} (CDN on port {hub.cdn_port})\n")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        hub.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
