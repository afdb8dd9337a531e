"""Baseline: Python's socketserver.UDPServer with an echo handler. Standard library only."""
import socketserver


class Echo(socketserver.BaseRequestHandler):
    def handle(self):
        packet, sock = self.request
        sock.sendto(packet, self.client_address)


with socketserver.UDPServer(("127.0.0.1", 0), Echo) as server:
    print("listening", server.server_address[1], flush=True)
    server.serve_forever()
