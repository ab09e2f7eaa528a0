#!/usr/bin/env python3
"""An independent RFC 3161 TSA for tests: a loopback HTTP server whose every POST is answered by
`openssl ts -reply` (the TSA of the openssl CLI, configured by the file given), as
application/timestamp-reply. Test-only; the TSA key is a throwaway file named in that config.

usage: openssl_tsa.py CONFIG PORT_FILE
Writes the bound port to PORT_FILE once listening; serves until killed.
"""
import http.server
import os
import subprocess
import sys
import tempfile


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        query = self.rfile.read(length)
        with tempfile.TemporaryDirectory() as d:
            q = os.path.join(d, "q.tsq")
            r = os.path.join(d, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            done = subprocess.run(
                ["openssl", "ts", "-reply", "-config", CONFIG, "-queryfile", q, "-out", r],
                capture_output=True)
            if done.returncode != 0 or not os.path.exists(r):
                self.send_response(500)
                self.end_headers()
                return
            with open(r, "rb") as f:
                reply = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


CONFIG = sys.argv[1]
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
