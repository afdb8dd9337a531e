"""Baseline: Python's socketserver.ThreadingTCPServer with a recv/sendall echo handler
(with --forking: ForkingTCPServer, one os.fork() per connection).

Standard library only. Backlog 511 and TCP_NODELAY, as the Node servers have.
"""
import socket
import socketserver
import sys


class Echo(socketserver.BaseRequestHandler):
    def setup(self):
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self):
        recv, sendall = self.request.recv, self.request.sendall
        while data := recv(65536):
            sendall(data)


Base = socketserver.ForkingTCPServer if "--forking" in sys.argv else socketserver.ThreadingTCPServer


class Server(Base):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 511


with Server(("127.0.0.1", 0), Echo) as server:
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()
