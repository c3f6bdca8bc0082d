"""A local HTTP file server for download tests: 127.0.0.1 only, started and stopped by the test.

It serves byte strings by path, honours ``Range: bytes=N-`` (206 + Content-Range), answers 404 for
what it does not have, and can be told to misbehave: cut a file's body after some bytes, ignore
ranges, or hold a connection half-sent until the test lets it go (to stop the server under it).
Every request is recorded as ``(path, range header or None)``.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    def __init__(self, files: dict[str, bytes]):
        self.files = dict(files)
        self.requests: list[tuple[str, str | None]] = []
        self.cut_after: dict[str, int] = {}  # path -> total bytes of the file after which the body stops
        self.cut_once = True  # a cut happens for the first request of that path only
        self.ignore_range = False
        self.hold_after: dict[str, int] = {}  # path -> bytes after which the handler waits for `release`
        self.half_sent = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                path = self.path
                rng = self.headers.get("Range")
                with server._lock:
                    server.requests.append((path, rng))
                data = server.files.get(path)
                if data is None:
                    body = b"not here"
                    self.send_response(404)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                start = 0
                if rng and rng.startswith("bytes=") and not server.ignore_range:
                    start = int(rng[6:].split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                end = len(data)
                with server._lock:
                    cut = server.cut_after.get(path)
                    if cut is not None and server.cut_once:
                        del server.cut_after[path]
                hold = server.hold_after.pop(path, None)
                if cut is not None:
                    end = max(start, min(end, cut))
                if hold is not None:
                    self.wfile.write(data[start:hold])
                    self.wfile.flush()
                    server.half_sent.set()
                    server.release.wait(10)
                    self._abort()
                    return
                self.wfile.write(data[start:end])
                self.wfile.flush()
                if end < len(data):
                    self._abort()

            def _abort(self):
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="test-http", daemon=True)

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def url(self, prefix: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{prefix}"

    def stop(self) -> None:
        """Stop serving and close the listening socket: new connections are refused."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(10)
        self.release.set()

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
