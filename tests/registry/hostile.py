#!/usr/bin/env python3
"""Hostile clients for grafos-registry (tests/registry/hostile_test.sh): real TLS on loopback.

  hostile.py PORT CA longline            1 MiB request line, no newline, no client certificate
  hostile.py PORT CA manyfields          1,000 header fields, no client certificate
  hostile.py PORT CA smuggle CERT KEY    a refused request (415) whose body is another request
  hostile.py PORT CA smuggle401          the same without a client certificate (401)
  hostile.py PORT CA flood N_IDLE N_DRIBBLE READY_FILE
                                         idle TCP connections and TLS connections sending one
                                         header byte per second; writes READY_FILE once all are
                                         open and keeps dribbling until killed
Prints one line per finding: the status line received and whether the server closed.
"""
import socket
import ssl
import sys
import time


def tls(port, ca, cert=None, key=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(cert, key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="localhost")


def read_all(s, limit=1 << 20, timeout=10):
    """Reads until the server closes (or the timeout); returns (bytes, closed)."""
    s.settimeout(timeout)
    out = b""
    try:
        while len(out) < limit:
            b = s.recv(65536)
            if not b:
                return out, True
            out += b
    except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError, BrokenPipeError):
        return out, True
    except (socket.timeout, TimeoutError):
        return out, False
    except ssl.SSLError:
        return out, True
    return out, False


def send_ignoring_close(s, data, chunk=16384):
    try:
        for i in range(0, len(data), chunk):
            s.sendall(data[i:i + chunk])
    except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
        pass


def report(resp, closed):
    line = resp.split(b"\r\n", 1)[0].decode("latin-1") if resp else "(no answer)"
    n = resp.count(b"HTTP/1.1 ")
    print(f"status={line!r} responses={n} closed={closed} bytes={len(resp)}")
    sys.stdout.flush()


def main():
    port, ca, what = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if what == "longline":
        s = tls(port, ca)
        send_ignoring_close(s, b"GET /" + b"a" * (1 << 20))
        report(*read_all(s))
    elif what == "manyfields":
        s = tls(port, ca)
        req = b"GET /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\n"
        req += b"".join(b"x%d:y\r\n" % i for i in range(1000)) + b"\r\n"
        send_ignoring_close(s, req)
        report(*read_all(s))
    elif what in ("smuggle", "smuggle401"):
        cert, key = (sys.argv[4], sys.argv[5]) if what == "smuggle" else (None, None)
        inner = (b'POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n'
                 b'Content-Length: 20\r\n\r\n{"name":"smuggled"}\n')
        if what == "smuggle":
            outer = (b"POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\nContent-Encoding: gzip\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(inner))
        else:
            outer = (b"POST /api/v1/tenants HTTP/1.1\r\nHost: localhost\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(inner))
        s = tls(port, ca, cert, key)
        send_ignoring_close(s, outer + inner)
        report(*read_all(s))
    elif what in ("dribble", "idletcp"):
        # How long the server keeps a connection that never completes its headers (dribble: one
        # header byte per second over TLS) or its TLS handshake (idletcp: silent TCP).
        start = time.monotonic()
        if what == "dribble":
            s = tls(port, ca)
        else:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        closed = False
        s.settimeout(1)
        while time.monotonic() - start < 30 and not closed:
            try:
                if what == "dribble":
                    s.sendall(b"G")
                b = s.recv(4096)
                closed = not b
            except (socket.timeout, TimeoutError):
                pass
            except (OSError, ssl.SSLError):
                closed = True
        print(f"closed={closed} after={time.monotonic() - start:.1f}s")
    elif what == "flood":
        n_idle, n_dribble, ready = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
        idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(n_idle)]
        dribblers = []
        for _ in range(n_dribble):
            s = tls(port, ca)
            s.sendall(b"G")
            dribblers.append(s)
        with open(ready, "w") as f:
            f.write(f"{len(idle)} {len(dribblers)}\n")
        while True:
            time.sleep(1)
            for s in dribblers:
                try:
                    s.sendall(b"E")
                except OSError:
                    pass
    else:
        sys.exit("unknown mode " + what)


if __name__ == "__main__":
    main()
