"""Public tests: files served with the right status, Content-Type, Content-Length and bytes."""

import pytest

HTML = ("text/html",)
TEXT = ("text/plain",)


@pytest.mark.points(2)
def test_index_page(fetch, www, check_file):
    """GET / serves the root index.html as text/html, byte for byte"""
    check_file(fetch("/"), (www / "index.html").read_bytes(), what="GET /", types=HTML)


@pytest.mark.points(2)
def test_text_file(fetch, www, check_file):
    """Serves a text file as text/plain, byte for byte (CRLF line endings and tabs kept)"""
    check_file(fetch("/hello.txt"), (www / "hello.txt").read_bytes(), what="GET /hello.txt",
               types=TEXT)


@pytest.mark.points(2)
def test_png_image(fetch, www, check_file):
    """Serves a PNG image as image/png, byte for byte"""
    check_file(fetch("/images/logo.png"), (www / "images/logo.png").read_bytes(),
               what="GET /images/logo.png", types=("image/png",))


@pytest.mark.points(1)
def test_jpeg_image(fetch, www, check_file):
    """Serves a JPEG image as image/jpeg, byte for byte"""
    check_file(fetch("/images/photo.jpg"), (www / "images/photo.jpg").read_bytes(),
               what="GET /images/photo.jpg", types=("image/jpeg",))


@pytest.mark.points(2)
def test_binary_file(fetch, www, check_file):
    """Serves a binary file of an unknown type as application/octet-stream, byte for byte"""
    check_file(fetch("/data/blob.dat"), (www / "data/blob.dat").read_bytes(),
               what="GET /data/blob.dat", types=("application/octet-stream",))


@pytest.mark.points(2)
def test_more_content_types(fetch):
    """Sends the right Content-Type for .css, .js, .json and .gif files"""
    wanted = {"/css/style.css": ("text/css",),
              "/js/app.js": ("text/javascript", "application/javascript",
                             "application/x-javascript"),
              "/data/info.json": ("application/json",),
              "/images/dot.gif": ("image/gif",)}
    wrong = []
    for target, types in wanted.items():
        response = fetch(target)
        assert response.status == 200, f"GET {target}: expected status 200, got {response.status}"
        if response.content_type not in types:
            got = response.headers.get("content-type", "none")
            wrong.append(f"{target} got {got!r}, expected {types[0]}")
    assert not wrong, "wrong Content-Type: " + "; ".join(wrong)


@pytest.mark.points(2)
def test_content_length(fetch, www):
    """Sends a Content-Length equal to the file's size in bytes"""
    for target, name in (("/", "index.html"), ("/hello.txt", "hello.txt"),
                         ("/images/logo.png", "images/logo.png"),
                         ("/data/blob.dat", "data/blob.dat")):
        size = (www / name).stat().st_size
        response = fetch(target)
        assert response.status == 200, f"GET {target}: expected status 200, got {response.status}"
        value = response.headers.get("content-length")
        assert value is not None, f"GET {target}: no Content-Length header (expected {size})"
        assert value.strip() == str(size), (
            f"GET {target}: Content-Length is {value!r} but the file has {size} bytes: send the "
            "length of the file's bytes (read in 'rb' mode), not of a decoded string")


@pytest.mark.points(1)
def test_percent_encoded_name(fetch, www, check_file):
    """Decodes percent-encoded URLs: /my%20file.txt serves 'my file.txt'"""
    check_file(fetch("/my%20file.txt"), (www / "my file.txt").read_bytes(),
               what="GET /my%20file.txt (the file 'my file.txt')")


@pytest.mark.points(1)
def test_query_string_ignored(fetch, www, check_file):
    """Ignores the query string when finding the file: /docs/guide.txt?lang=en&v=2"""
    check_file(fetch("/docs/guide.txt?lang=en&v=2"), (www / "docs/guide.txt").read_bytes(),
               what="GET /docs/guide.txt?lang=en&v=2 (the query string is not part of the file "
               "name)")
