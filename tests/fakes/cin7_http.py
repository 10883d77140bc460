"""The fake Cin7 Core's HTTP side: one handler class per :class:`~tests.fakes.cin7_server.FakeCin7`."""
from __future__ import annotations

import socket
import time
from http.server import BaseHTTPRequestHandler

from .cin7_server import FakeCin7, dumps


def make_handler(fake: FakeCin7):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out at once (no 40 ms delayed-ACK stall)

        def log_message(self, *args):  # quiet
            pass

        def _serve(self, method: str):
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            hdrs = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, payload, action = fake.handle(method, self.path, hdrs, data)
            except Exception as exc:  # a bug in the fake: say so instead of dropping the connection
                import traceback

                fake.errors.append(traceback.format_exc())
                status, payload, action = 500, f"fake Cin7 crashed: {type(exc).__name__}: {exc}", "text"
            if action == "redirect":
                self.send_response(status)
                self.send_header("Location", str(payload))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if action in ("drop", "lost"):
                # The write (if any) happened; the answer never arrives.
                self.close_connection = True
                try:
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            if action in ("text", "html") or isinstance(payload, str):
                out = str(payload).encode("utf-8")
                ctype = "text/html; charset=utf-8" if action == "html" else "text/plain; charset=utf-8"
            else:
                out = dumps(payload).encode("utf-8")
                ctype = "application/json; charset=utf-8"
            if isinstance(action, tuple):  # trickle: one byte at a time, forever as far as a client cares
                self._trickle(status, ctype, out, *action)
                return
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def _trickle(self, status: int, ctype: str, out: bytes, kind: str, interval: float) -> None:
            head = (f"HTTP/1.1 {status} OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(out) * 50}\r\n"
                    + "X-Padding: " + "x" * 200 + "\r\n\r\n").encode()
            slow = head + out * 50 if kind == "trickle-headers" else out * 50
            self.close_connection = True
            try:
                if kind == "trickle":
                    self.wfile.write(head)
                    self.wfile.flush()
                for i in range(len(slow)):
                    self.wfile.write(slow[i:i + 1])
                    self.wfile.flush()
                    time.sleep(interval)
            except OSError:  # the client gave up
                pass

        def do_GET(self):
            self._serve("GET")

        def do_POST(self):
            self._serve("POST")

        def do_PUT(self):
            self._serve("PUT")

        def do_DELETE(self):
            self._serve("DELETE")

    return Handler
