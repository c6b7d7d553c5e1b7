"""WebSocket routes of the project (the ``websocket`` side of the ASGI application).

Apps with sockets expose ``websocket_urlpatterns`` in their ``routing.py``; add that list here.
"""

websocket_urlpatterns: list = []
