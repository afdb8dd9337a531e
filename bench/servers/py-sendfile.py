"""Baseline: Python's socketserver.ThreadingTCPServer whose handler sends the download file with
socket.sendfile() (sendfile(2) on Linux). argv[1]: the file. Standard library only.
"""
import socketserver
import sys

PATH = sys.argv[1]


class Sender(socketserver.BaseRequestHandler):
    def handle(self):
        with open(PATH, "rb") as file:
            self.request.sendfile(file)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 511


with Server(("127.0.0.1", 0), Sender) as server:
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()
