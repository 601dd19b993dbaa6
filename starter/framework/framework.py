"""A tiny web framework on WSGI.

    from framework import App, Response, redirect
    app = App()

    @app.route("/hello/<name>")
    def hello(request, name):
        return f"Hello, {name}!"

Read handout.md for the whole API, then check your work with `grader check` (it serves the
course's own site, written with this API, on top of your framework).

Right now routes match only paths without parameters, views get a bare request, and whatever a
view returns is sent as a page. Replace that, step by step.
"""


class Request:
    def __init__(self, environ):
        self.method = environ["REQUEST_METHOD"]
        self.path = environ.get("PATH_INFO", "/")
        # TODO: query, form, headers, cookies, json (see the handout)
        self.query, self.form, self.headers, self.cookies, self.json = {}, {}, {}, {}, None


class Response:
    def __init__(self, body="", status=200, headers=None):
        self.body, self.status, self.headers = body, status, headers or {}

    def set_cookie(self, name, value, path="/", max_age=None, httponly=False):
        pass  # TODO: add a Set-Cookie header


def redirect(location, status=302):
    return Response("", status=status, headers={"Location": location})  # TODO: send these


class App:
    def __init__(self):
        self.routes = {}  # path -> view

    def route(self, path, methods=("GET",)):
        def register(view):
            self.routes[path] = view  # TODO: <parameters>, methods, several routes per path
            return view

        return register

    def __call__(self, environ, start_response):
        request = Request(environ)
        view = self.routes.get(request.path)
        if view is None:
            body = "<h1>Not Found</h1>"  # TODO: the status must say 404
        else:
            body = str(view(request))  # TODO: dict -> JSON, Response objects, exceptions -> 500
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode("utf-8")]
