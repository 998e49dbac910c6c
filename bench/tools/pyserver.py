"""The tutorial's thread-per-connection server in Python, as bench/tools
runs it: http.server's ThreadingHTTPServer with SimpleHTTPRequestHandler,
speaking HTTP/1.1 (keep-alive) with TCP_NODELAY on every accepted socket
(else each response waits for a delayed ACK between its head and body),
a listen backlog of 1024 instead of 5 (else wrk's burst of connects
loses handshakes), and no log line per request.

    python3 pyserver.py ROOT

Listens on an ephemeral loopback port and prints "listening on ADDR:PORT".
"""
import functools
import http.server
import signal
import socket
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024


def main():
    handler = functools.partial(Handler, directory=sys.argv[1])
    with Server(("127.0.0.1", 0), handler) as httpd:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        host, port = httpd.server_address[:2]
        print(f"listening on {host}:{port}", flush=True)
        httpd.serve_forever()


if __name__ == "__main__":
    main()
